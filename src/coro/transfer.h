/* Private to the switching files of src/coro (resume.c, finish.c, hop.c):
 * the steps of a switch, inline so that each fast path stays one function
 * that ends in the assembly switch. */
#ifndef CIO_CORO_TRANSFER_H
#define CIO_CORO_TRANSFER_H

#include "coro/coro_int.h"

#if CIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if CIO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

/* ---- ASan fiber annotations: tell ASan which stack we run on. ---- */

static inline void asan_leave(cio_coro_t *from, cio_coro_t *to, bool dying)
{
#if CIO_ASAN
    from->thread->came_from = from;
    const void *bottom = to->is_root ? to->asan_bottom : to->stack.lo;
    size_t size = to->is_root ? to->asan_size : to->stack.size;
    __sanitizer_start_switch_fiber(dying ? NULL : &from->asan_fake, bottom,
                                   size);
#else
    (void)from, (void)to, (void)dying;
#endif
}

static inline void asan_arrive(cio_coro_t *self)
{
#if CIO_ASAN
    const void *bottom;
    size_t size;
    __sanitizer_finish_switch_fiber(self ? self->asan_fake : NULL, &bottom,
                                    &size);
    cio_coro_t *prev = cio__tls_thread.came_from;
    if (prev && prev->is_root) {
        prev->asan_bottom = bottom;
        prev->asan_size = size;
    }
#else
    (void)self;
#endif
}

/* ThreadSanitizer follows the switch to to's stack (called just before).
 * TSan instruments every function with an entry and an exit on the shadow
 * call stack of the fiber it runs on then, so the function that calls
 * tsan_switch must be the one that makes the switch: its entry before, on
 * the fiber it leaves, its exit after it is resumed, on the same one. A
 * helper between them, not inlined, enters on one fiber and leaves on the
 * other (a new fiber's shadow stack underflows). Hence always_inline on
 * tsan_switch and on what runs from it to the switch (clang does not
 * inline them all under TSan on its own; gcc does). */
#define SWITCH_INLINE inline __attribute__((always_inline))

static SWITCH_INLINE void tsan_switch(cio_coro_t *to)
{
#if CIO_TSAN
    if (!to->tsan_fiber) /* made on first use: TSan allows ~8k of them */
        to->tsan_fiber = __tsan_create_fiber(0);
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#else
    (void)to;
#endif
}

/* Everything a switch from `from` to `to` does before the registers move. */
static SWITCH_INLINE void prepare(cio_coro_t *from, cio_coro_t *to)
{
    if (!from->stack.guarded)
        cio__coro_check_canary(from);
    if (UNLIKELY(to->saved != NULL))
        cio__coro_unshrink(to);
    cio__tls_current = to;
    tsan_switch(to);
}

#if !TAIL_SWITCH
/* A switch with work after it (ASan's bookkeeping, or ucontext). */
static inline void *transfer(cio_coro_t *from, cio_coro_t *to, void *value)
{
    prepare(from, to);
    asan_leave(from, to, false);
    void *got =
        cio__switch(&from->ctx, &to->ctx, value, from->thread->shared_fpu);
    asan_arrive(from);
    return got;
}
#endif

#if TAIL_SWITCH
/* The switch as a tail call, returning 0 to our caller's caller and storing
 * the value passed back in *received. */
static SWITCH_INLINE int switch_status(struct cio__thread *t, cio_coro_t *from,
                                       cio_coro_t *to, void *value,
                                       void **received)
{
    void **slot = received ? received : &t->scratch;
    if (t->shared_fpu)
        return cio__switch_status_shared(&from->ctx.sp, to->ctx.sp, value,
                                         slot);
    return cio__switch_status(&from->ctx.sp, to->ctx.sp, value, slot);
}

#if FRESH_START
/* The first switch into `to`, as switch_status. */
static SWITCH_INLINE int start_status(struct cio__thread *t, cio_coro_t *from,
                                      cio_coro_t *to, void *value,
                                      void **received)
{
    void **slot = received ? received : &t->scratch;
    void *first = value ? value : to->arg;
    if (t->shared_fpu)
        return cio__switch_start_shared(&from->ctx.sp, to->ctx.sp, first, slot,
                                        to, to->fn);
    return cio__switch_start(&from->ctx.sp, to->ctx.sp, first, slot, to,
                             to->fn);
}
#endif

/* The same, returning the value passed back. */
static SWITCH_INLINE void *switch_value(struct cio__thread *t, cio_coro_t *from,
                                        cio_coro_t *to, void *value)
{
    if (t->shared_fpu)
        return cio__switch_value_shared(&from->ctx.sp, to->ctx.sp, value, NULL);
    return cio__switch_value(&from->ctx.sp, to->ctx.sp, value, NULL);
}
#endif

/* The nearest ancestor still able to run (roots never finish). */
static inline cio_coro_t *live_parent(cio_coro_t *co)
{
    cio_coro_t *p = co->parent;
    while (p && p->state == CIO__CORO_DONE)
        p = p->parent;
    return p ? p : &co->thread->root;
}

#if FRESH_START
/* Goes from `from` to `to`, two copied coroutines of one stack, through
 * the thread's copier (hop.c); returns as switch_status. */
CIO_HIDDEN int cio__coro_hop(struct cio__thread *t, cio_coro_t *from,
                             cio_coro_t *to, void *value, void **received,
                             bool fresh);
/* Aborts if to's stack is pinned by another coroutine: a yield or an end
 * cannot wait for it (hop.c). */
CIO_HIDDEN void cio__copied_check(const cio_coro_t *to);
#endif

#endif
