/* A coroutine with room for its owner's state, for the hub: resuming a
 * task then touches one place in memory instead of two. */
#ifndef CIO_CORO_ROOM_H
#define CIO_CORO_ROOM_H

#include <stdbool.h>
#include <stddef.h>

#include "corio/coro.h"

/* Like cio_coro_create, with `room` bytes (64-byte aligned, uninitialised)
 * allocated right after the coroutine; they are freed with it. */
__attribute__((visibility("hidden"))) int
cio__coro_create_room(cio_coro_t **out, cio_coro_cb fn, void *arg,
                      size_t stack_size, size_t room);

/* Like cio__coro_create_room, for a coroutine whose stack is shared: it
 * runs on one of its thread's shared stacks, and its live frames are copied
 * out (to the heap, a few hundred bytes) while another one runs there, and
 * back before it runs (src/coro/copied.c). Nothing may point into its stack
 * from outside while it waits, unless it is pinned. Falls back to a stack
 * of its own where the switch cannot start a coroutine on a bare stack
 * (only x86-64 can, without ASan). */
__attribute__((visibility("hidden"))) int
cio__coro_create_copied(cio_coro_t **out, cio_coro_cb fn, void *arg,
                        size_t stack_size, size_t room);

/* Pins a copied coroutine's frames on its shared stack (another thread
 * uses them), or unpins them; no-op for others. While pinned, switching to
 * another coroutine of that stack whose frames are out fails with -EBUSY. */
__attribute__((visibility("hidden"))) void cio__coro_pin(cio_coro_t *co,
                                                         bool on);

/* True if switching to co would fail with -EBUSY (see cio__coro_pin). */
__attribute__((visibility("hidden"))) bool
cio__coro_blocked(const cio_coro_t *co);

/* cio_coro_switch(to, NULL, NULL) for a scheduler that knows `to` is a
 * started coroutine of this thread suspended in a switch, not the running
 * one: checks nothing of that, and switches as its caller's last act (a
 * tail call), so that a caller returning its result puts no frame of its
 * own under the suspended one. 0 once resumed. */
__attribute__((visibility("hidden"))) int cio__coro_resume(cio_coro_t *to);

/* The running coroutine, NULL before the thread's first coroutine call:
 * cio_coro_current without its initialisation, for the hub's every call. */
extern _Thread_local
    __attribute__((tls_model("initial-exec"), visibility("hidden")))
    cio_coro_t *cio__tls_current;

/* Names co without a copy: name (a string literal) outlives it. */
__attribute__((visibility("hidden"))) void
cio__coro_set_static_name(cio_coro_t *co, const char *name);

/* The room of a coroutine made by cio__coro_create_room. */
__attribute__((visibility("hidden"))) void *cio__coro_room(cio_coro_t *co);

/* A byte of co for its owner (0 at create): the hub marks a task's
 * coroutine whose IO calls may take their short way, so that a call learns
 * it from the running coroutine alone. Inline: read on every IO call. */
#ifndef CIO_USE_UCONTEXT
#define CIO__CORO_FLAG_AT 60 /* its offset (coro_int.h asserts it) */
static inline unsigned cio__coro_flag(const cio_coro_t *co)
{
    return ((const unsigned char *)co)[CIO__CORO_FLAG_AT];
}
static inline void cio__coro_set_flag(cio_coro_t *co, unsigned flag)
{
    ((unsigned char *)co)[CIO__CORO_FLAG_AT] = (unsigned char)flag;
}
#else
__attribute__((visibility("hidden"))) unsigned
cio__coro_flag(const cio_coro_t *co);
__attribute__((visibility("hidden"))) void cio__coro_set_flag(cio_coro_t *co,
                                                              unsigned flag);
#endif

/* Where the frames of a suspended coroutine are, for prefetching them:
 * its saved stack pointer, or the copy of its frames while they are off
 * its stack (shrunk, or copied out); NULL where it is not known (ucontext
 * builds). Inline for the hub's hot path: a coroutine's first word is its
 * saved sp and its fourth the copy (coro_int.h asserts it). */
static inline const char *cio__coro_saved_sp(const cio_coro_t *co)
{
#ifdef CIO_USE_UCONTEXT
    (void)co;
    return NULL;
#else
    char *const *w = (char *const *)(const void *)co;
    return w[3] ? w[3] : w[0];
#endif
}

#endif
