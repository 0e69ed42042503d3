/* Private view of a coroutine, shared by the files of src/coro. */
#ifndef CIO_CORO_INT_H
#define CIO_CORO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corio/coro.h"
#include "coro/room.h"
#include "coro/stack.h"
#include "coro/switch.h"

#if defined(__SANITIZE_ADDRESS__)
#define CIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO_ASAN 1
#endif
#endif
#ifndef CIO_ASAN
#define CIO_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define CIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO_TSAN 1
#endif
#endif
#ifndef CIO_TSAN
#define CIO_TSAN 0
#endif

#define CIO_HIDDEN __attribute__((visibility("hidden")))

enum cio__coro_state {
    CIO__CORO_NEW,       /* created, never switched to */
    CIO__CORO_SUSPENDED, /* started, waiting in a switch (or running) */
    CIO__CORO_DONE,      /* entry function returned */
};

struct cio__thread;

/* What a switch reads comes first, in one cache line: with thousands of
 * coroutines, the one resumed is cold. */
struct cio_coro {
    cio__ctx ctx;               /* saved registers while suspended (first) */
    struct cio__thread *thread; /* the thread state that owns it */
    cio_coro_t *parent;         /* who first switched to it; resumed at end */
    void *saved;                /* live stack copied out by cio_coro_shrink */
    struct cio__stack stack;    /* its stack (lo == NULL for a root) */
    uint8_t state;              /* enum cio__coro_state */
    uint8_t is_root;            /* 1 for a thread's root coroutine */
    uint32_t room;              /* bytes of the owner's room after the struct */
    /* colder: */
    cio_coro_cb fn;        /* entry function */
    void *arg;             /* entry argument when the first value is NULL */
    void *result;          /* entry function's return value once done */
    void *data;            /* owner's pointer (cio_coro_set_data) */
    char *name;            /* heap copy of the debug name, or NULL */
    uint64_t id;           /* process-unique id */
    size_t saved_len;      /* bytes in saved (top of stack down to sp) */
    cio_coro_t *next_free; /* link in the thread's pool of free coroutines */
#if CIO_TSAN
    void *tsan_fiber; /* ThreadSanitizer's state for this stack */
#endif
#if CIO_ASAN
    void *asan_fake;         /* ASan fake stack saved while switched out */
    const void *asan_bottom; /* root only: its stack bounds for ASan */
    size_t asan_size;        /* root only: its stack size for ASan */
#endif
};

/* The coroutine running on this thread, or NULL before first use (used by
 * the SIGSEGV handler, so it never initialises anything). */
CIO_HIDDEN cio_coro_t *cio__coro_running(void);

/* Stack overflow reporting (overflow.c). */
CIO_HIDDEN void cio__overflow_install(void);
CIO_HIDDEN void *cio__overflow_thread_init(void);
CIO_HIDDEN void cio__overflow_thread_fini(void *altstack);
CIO_HIDDEN _Noreturn void cio__overflow_report(const cio_coro_t *co);

#endif
