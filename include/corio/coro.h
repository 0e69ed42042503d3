/* The manual gear: coroutines switched by hand, greenlet style.
 *
 * Each thread has a root coroutine (the thread's own stack), created on first
 * use. A coroutine's parent is the coroutine that first switched to it; when
 * its entry function returns, control goes to the parent, and the parent's
 * pending switch returns the entry function's return value. */
#ifndef CORIO_CORO_H
#define CORIO_CORO_H

#include "export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_coro cio_coro_t;

/* Entry function: receives the value of the first switch into the coroutine
 * (the create argument if that value is NULL) and returns its result. */
typedef void *(*cio_coro_cb)(void *arg);

/* Default stack size (bytes) when 0 is passed to cio_coro_create. */
#define CIO_CORO_STACK_DEFAULT (64u * 1024u)

/* Creates a coroutine that will run fn(arg) on a stack of stack_size bytes
 * (0 = CIO_CORO_STACK_DEFAULT, rounded up to pages, at least 16 KiB). It
 * does not run until switched to; it belongs to the thread that first runs
 * it and starts with that coroutine's FPU control words (rounding mode...),
 * which it then keeps as its own across switches.
 * Returns 0, -ENOMEM or -EAGAIN (out of memory or memory mappings). */
CIO_API int cio_coro_create(cio_coro_t **out, cio_coro_cb fn, void *arg,
                            size_t stack_size);

/* Runs `to`, passing `value`; returns 0 when control comes back, with the
 * value that the switch back passed in stored in *received (may be NULL).
 * -ESRCH if `to` has finished, -EINVAL if it is NULL or a suspended
 * coroutine of another thread. Switching to the running coroutine returns
 * at once, *received = value. */
CIO_API int cio_coro_switch(cio_coro_t *to, void *value, void **received);

/* Switches to the current coroutine's parent, passing value; returns the
 * value passed by the switch that resumes this coroutine. From the root it
 * returns value at once. */
CIO_API void *cio_coro_yield(void *value);

/* Whether switches on this thread give each coroutine its own FPU control
 * words: rounding mode, exception masks, flush-to-zero (true, the default),
 * or leave one set shared by all the thread's coroutines (false). Sharing
 * avoids reading MXCSR on every switch, which is slow on some CPUs (about
 * 4.5 ns on AMD Zen 3); use it when no coroutine changes those modes.
 * Affects x86-64 only: elsewhere the control words are always kept. */
CIO_API void cio_coro_set_fpu_private(bool on);
CIO_API bool cio_coro_fpu_private(void);

/* The coroutine running on this thread (the thread's root if none). */
CIO_API cio_coro_t *cio_coro_current(void);

/* The coroutine's parent, or NULL for a root or a coroutine never run. */
CIO_API cio_coro_t *cio_coro_parent(const cio_coro_t *co);

/* True once the entry function has returned. */
CIO_API bool cio_coro_done(const cio_coro_t *co);

/* The entry function's return value (NULL until done). */
CIO_API void *cio_coro_result(const cio_coro_t *co);

/* A process-unique id, for logs and debugging. */
CIO_API uint64_t cio_coro_id(const cio_coro_t *co);

/* Optional name shown in debug listings (the string is copied). */
CIO_API void cio_coro_set_name(cio_coro_t *co, const char *name);
CIO_API const char *cio_coro_name(const cio_coro_t *co);

/* A pointer for the program, never used by corio (the hub keeps its tasks
 * elsewhere); NULL at creation. */
CIO_API void cio_coro_set_data(cio_coro_t *co, void *data);
CIO_API void *cio_coro_data(const cio_coro_t *co);

/* Frees a coroutine that is finished or never ran, or a suspended one (its
 * stack is dropped without unwinding). Never the running one (ignored).
 * Its children (coroutines it started) must not finish or yield after it
 * is freed, since that resumes the parent: free or finish them first. */
CIO_API void cio_coro_free(cio_coro_t *co);

/* Gives a suspended coroutine's stack memory back to the kernel, copying
 * its live part to the heap; it is copied back when the coroutine next runs.
 * The stack's address range stays reserved (and reads as zeros meanwhile),
 * so pointers into a shrunk stack must not be used by others. For programs
 * that hold many coroutines waiting a long time.
 * Returns 0, -EBUSY (running), -EINVAL (a root) or -ENOMEM. */
CIO_API int cio_coro_shrink(cio_coro_t *co);

/* Bytes this coroutine costs while suspended (stack pages in use or the
 * copied-out part, plus its descriptor); for statistics. */
CIO_API size_t cio_coro_footprint(const cio_coro_t *co);

#ifdef __cplusplus
}
#endif

#endif
