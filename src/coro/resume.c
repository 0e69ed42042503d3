/* Switching by hand (greenlet style): cio_coro_switch, the hub's
 * cio__coro_resume, cio_coro_yield. Each has a fast path that makes no
 * call but the assembly switch, as a jump, and a slow path apart for every
 * other case. */
#include "coro/transfer.h"

#include <errno.h>

/* Every case of cio_coro_switch: first use on this thread, coroutines that
 * never ran or finished, canaries, shrunk stacks, bad input. */
static __attribute__((noinline)) int switch_slow(cio_coro_t *to, void *value,
                                                 void **received)
{
    struct cio__thread *t = cio__thread_get();
    cio_coro_t *from = cio__tls_current;
    if (UNLIKELY(!to))
        return -EINVAL;
    if (UNLIKELY(to->state == CIO__CORO_DONE))
        return -ESRCH;
    /* A coroutine that never ran joins the thread that starts it, unless
     * it runs on a stack its thread shares. */
    bool fresh = to->state == CIO__CORO_NEW;
    if (UNLIKELY(to->thread != t && (!fresh || to->copied)))
        return -EINVAL;
    if (UNLIKELY(to == from)) {
        if (received)
            *received = value;
        return 0;
    }
    if (UNLIKELY(to->copied && to->saved && cio__copied_busy(to)))
        return -EBUSY;
    if (fresh) {
        to->thread = t;
        to->parent = from;
        to->state = CIO__CORO_SUSPENDED;
    }
#if TAIL_SWITCH
#if FRESH_START
    if (to->copied && to->saved && cio__copied_bring_in(from, to))
        return cio__coro_hop(t, from, to, value, received, fresh);
#endif
    prepare(from, to);
#if FRESH_START
    if (fresh)
        return start_status(t, from, to, value, received);
#endif
    return switch_status(t, from, to, value, received);
#else
    (void)fresh;
    void *got = transfer(from, to, value);
    if (received)
        *received = got;
    return 0;
#endif
}

#if FRESH_START
/* cio_coro_switch to a suspended copied coroutine of this thread whose
 * frames are off its stack, from another stack: its frames in, then the
 * switch. Apart, so that cio_coro_switch itself makes no call but the
 * switch, as a jump (its shape matters under ThreadSanitizer too). */
static __attribute__((noinline)) int
switch_copied(cio_coro_t *from, cio_coro_t *to, void *value, void **received)
{
    if (UNLIKELY(cio__copied_busy(to)))
        return -EBUSY;
    cio__copied_move(to);
    cio__tls_current = to;
    tsan_switch(to);
    return switch_status(&cio__tls_thread, from, to, value, received);
}
#endif

/* The fast path: a coroutine of this thread that is suspended or never
 * ran, nothing to check or restore; jumps into the switch, which returns
 * to our caller. */
int cio_coro_switch(cio_coro_t *to, void *value, void **received)
{
    cio_coro_t *from = cio__tls_current;
#if TAIL_SWITCH
    /* A coroutine of this thread means the thread is set up (from is not
     * NULL): coroutines get it at create, which sets the thread up. */
    if (__builtin_expect(to && to->thread == &cio__tls_thread && to != from &&
                             from->stack.guarded && !to->saved,
                         1)) {
        if (UNLIKELY(to->state != CIO__CORO_SUSPENDED)) {
            if (to->state == CIO__CORO_DONE)
                return -ESRCH;
            to->parent = from;
            to->state = CIO__CORO_SUSPENDED;
#if FRESH_START
            cio__tls_current = to;
            tsan_switch(to);
            return start_status(&cio__tls_thread, from, to, value, received);
#endif
        }
        cio__tls_current = to;
        tsan_switch(to);
        return switch_status(&cio__tls_thread, from, to, value, received);
    }
#if FRESH_START
    /* A suspended copied coroutine whose frames are off its stack (a hub
     * task woken), switched to from another stack: its frames in, then as
     * above. The rest (one of the same stack, a pinned stack) is slow. */
    if (to && to->copied && to->saved && to->thread == &cio__tls_thread &&
        to->state == CIO__CORO_SUSPENDED && from->stack.guarded &&
        !(from->copied && from->shared == to->shared))
        return switch_copied(from, to, value, received);
#endif
#endif
    (void)from;
    return switch_slow(to, value, received);
}

#if FRESH_START
/* The switch of cio__coro_resume: `from` is resumed the same way, with a
 * NULL value, which comes back as its 0. */
static SWITCH_INLINE int resume_switch(cio_coro_t *from, cio_coro_t *to)
{
    if (cio__tls_thread.shared_fpu)
        return cio__switch_status_shared(&from->ctx.sp, to->ctx.sp, NULL, NULL);
    return cio__switch_status(&from->ctx.sp, to->ctx.sp, NULL, NULL);
}

/* For copied.c: to's frames are in place. Apart from cio__coro_resume,
 * which only jumps to it, as its last act. */
int cio__coro_enter(cio_coro_t *from, cio_coro_t *to)
{
    cio__tls_current = to;
    tsan_switch(to);
    return resume_switch(from, to);
}
#endif

int cio__coro_resume(cio_coro_t *to)
{
#if FRESH_START
    cio_coro_t *from = cio__tls_current;
    if (__builtin_expect(from->stack.guarded && !to->saved, 1)) {
        cio__tls_current = to;
        tsan_switch(to);
        return resume_switch(from, to);
    }
    /* A copied coroutine whose frames are off its stack (copied.c). */
    if (from->stack.guarded && to->copied)
        return cio__copied_resume(from, to);
#endif
    return cio_coro_switch(to, NULL, NULL);
}

static __attribute__((noinline)) void *yield_slow(void *value)
{
    cio__thread_get();
    cio_coro_t *from = cio__tls_current;
    if (from->is_root)
        return value;
    cio_coro_t *to = live_parent(from);
#if FRESH_START
    if (to->copied && to->saved) {
        cio__copied_check(to);
        if (cio__copied_bring_in(from, to)) {
            void *got = NULL;
            cio__coro_hop(from->thread, from, to, value, &got, false);
            return got;
        }
    }
#endif
#if TAIL_SWITCH
    prepare(from, to);
    return switch_value(from->thread, from, to, value);
#else
    return transfer(from, to, value);
#endif
}

void *cio_coro_yield(void *value)
{
#if TAIL_SWITCH
    cio_coro_t *from = cio__tls_current;
    if (__builtin_expect(from && !from->is_root && from->stack.guarded, 1)) {
        cio_coro_t *to = from->parent;
        if (__builtin_expect(to->state != CIO__CORO_DONE && !to->saved, 1)) {
            cio__tls_current = to;
            tsan_switch(to);
            return switch_value(&cio__tls_thread, from, to, value);
        }
    }
#endif
    return yield_slow(value);
}
