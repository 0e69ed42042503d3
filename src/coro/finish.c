/* A coroutine's end: its entry function returns under cio__coro_start,
 * its result goes to the nearest live ancestor, and cio_coro_free gives
 * the struct and its stack back to this thread's pool. */
#include "coro/transfer.h"

#include <stdlib.h>

_Noreturn void cio__coro_start(void *arg, void *value)
{
    cio_coro_t *co = arg;
    asan_arrive(NULL);
    cio__coro_finish(co, co->fn(value ? value : co->arg));
}

/* Leaves finished coroutine co for to, which is ready to resume. */
static inline _Noreturn void leave(cio_coro_t *co, cio_coro_t *to, void *result)
{
    cio__tls_current = to;
    tsan_switch(to);
    asan_leave(co, to, true);
#if FRESH_START
    if (cio__tls_thread.shared_fpu)
        cio__switch_exit_shared(to->ctx.sp, result);
    cio__switch_exit(to->ctx.sp, result);
#else
    cio__switch(&co->ctx, &to->ctx, result, co->thread->shared_fpu);
    abort(); /* a finished coroutine is never resumed */
#endif
}

static __attribute__((noinline)) _Noreturn void finish_slow(cio_coro_t *co,
                                                            void *result)
{
    cio__coro_check_canary(co);
    cio_coro_t *to = live_parent(co);
#if FRESH_START
    if (to->copied && to->saved) {
        cio__copied_check(to);
        if (cio__copied_bring_in(co, to)) {
            cio__coro_hop(co->thread, co, to, result, NULL, false);
            abort(); /* a finished coroutine is never resumed */
        }
    }
#endif
    if (UNLIKELY(to->saved != NULL))
        cio__coro_unshrink(to);
    leave(co, to, result);
}

_Noreturn void cio__coro_finish(void *arg, void *result)
{
    cio_coro_t *co = arg;
    co->result = result;
    co->state = CIO__CORO_DONE;
    cio_coro_t *to = co->parent;
    if (__builtin_expect(co->stack.guarded && to && !to->saved &&
                             to->state != CIO__CORO_DONE,
                         1))
        leave(co, to, result);
    finish_slow(co, result);
}

static __attribute__((noinline)) void free_slow(cio_coro_t *co)
{
    if (!co || co->is_root || co == cio__tls_current)
        return;
    cio__coro_check_canary(co);
    if (co->name) {
        if (!co->name_static)
            free(co->name);
        co->name = NULL;
        co->name_static = 0;
    }
    if (co->copied) { /* its stack is shared: never pooled */
        cio__copied_release(co);
        return;
    }
    if (co->saved) {
        free(co->saved);
        co->saved = NULL;
    }
    struct cio__thread *t = cio__thread_get();
#if CIO_TSAN
    if (co->tsan_fiber)
        __tsan_destroy_fiber(co->tsan_fiber);
    co->tsan_fiber = NULL;
#endif
#if CIO_ASAN
    /* Frames that never returned leave poisoned shadow behind. */
    if (co->state != CIO__CORO_NEW)
        __asan_unpoison_memory_region(co->stack.lo, co->stack.size);
#endif
    co->state = CIO__CORO_DONE;
    if (!cio__pool_put(t, co))
        cio__coro_release(co);
}

void cio_coro_free(cio_coro_t *co)
{
#if !CIO_ASAN && !CIO_TSAN
    /* The common case: a default-size, guarded, unnamed coroutine back to
     * this thread's pool (a root's size is 0, never the default). */
    struct pool *p = &cio__tls_thread.pools[0];
    if (__builtin_expect(co && co != cio__tls_current &&
                             co->stack.size == p->size && co->stack.guarded &&
                             !co->name && !co->saved && !co->copied &&
                             p->count < POOL_MAX,
                         1)) {
        co->state = CIO__CORO_DONE;
        co->next_free = p->head;
        p->head = co;
        p->count++;
        return;
    }
#endif
    free_slow(co);
}
