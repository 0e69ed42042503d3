/* Making coroutines: one from this thread's pool when it has one (the fast
 * path, inline in cio_coro_create), else a new struct and stack. */
#include "coro/coro_int.h"

#include <errno.h>
#include <stdlib.h>

static cio_coro_t *coro_alloc(size_t room)
{
    /* Without room, no alignment to pay for: a million coroutines. */
    cio_coro_t *co =
        room ? aligned_alloc(64, HEAD_BYTES + room) : malloc(sizeof *co);
    if (co) {
        co->room = (uint16_t)room;
#if CIO_ASAN
        co->asan_fake = NULL;
        co->asan_bottom = NULL;
        co->asan_size = 0;
#endif
    }
    return co;
}

/* A pooled coroutine whose room is too small moves its stack to a new
 * struct with enough (nothing points to a coroutine in the pool). */
static cio_coro_t *regrow(cio_coro_t *old, size_t room)
{
    cio_coro_t *co = coro_alloc(room);
    if (co)
        co->stack = old->stack;
    else
        cio__stack_release(&old->stack);
    free(old);
    return co;
}

/* Finds or makes a coroutine with a stack of stack_size (0: default). */
static __attribute__((noinline)) int
make(cio_coro_t **out, struct cio__thread *t, size_t stack_size, size_t room)
{
    /* The default is a multiple of every page size (4, 16 or 64 KiB). */
    size_t size =
        stack_size ? cio__stack_round(stack_size) : CIO_CORO_STACK_DEFAULT;
    if (!size)
        return -ENOMEM;
    cio_coro_t *co = cio__pool_take(t, size);
    if (co && co->room < room) {
        co = regrow(co, room);
        if (!co)
            return -ENOMEM;
    }
    if (!co) {
        co = coro_alloc(room);
        if (!co)
            return -ENOMEM;
        int rc = cio__stack_alloc(size, &co->stack);
        if (rc) {
            free(co);
            return rc;
        }
    }
    /* Fields a pooled coroutine keeps clear (see cio__coro_create_room). */
    co->name = NULL;
    co->name_static = 0;
    co->saved = NULL;
    co->saved_len = 0;
    co->is_root = 0;
    co->copied = 0;
    co->copy_cap = 0;
#if CIO_TSAN
    co->tsan_fiber = NULL;
#endif
    *out = co;
    return 0;
}

/* What a new coroutine gets. A pooled one has no name, no shrunk copy and
 * no TSan fiber (freeing clears them, make sets them), so only these. */
static inline void setup(cio_coro_t *co, struct cio__thread *t, cio_coro_cb fn,
                         void *arg)
{
    co->thread = t;
    co->parent = NULL;
    co->fn = fn;
    co->arg = arg; /* shares its place with result */
    co->data = NULL;
    co->id = 0; /* given on first request (cio_coro_id) */
    co->state = CIO__CORO_NEW;
    co->flag = 0;
#if FRESH_START
    co->ctx.sp =
        (void *)((uintptr_t)(co->stack.lo + co->stack.size) & ~(uintptr_t)15);
#else
    cio__ctx_init(&co->ctx, co, co->stack.lo, co->stack.size);
#endif
}

static __attribute__((noinline)) int create_slow(cio_coro_t **out,
                                                 cio_coro_cb fn, void *arg,
                                                 size_t stack_size, size_t room)
{
    if (UNLIKELY(!out || !fn || room > UINT16_MAX - 63))
        return -EINVAL;
    room = (room + 63) & ~(size_t)63;
    struct cio__thread *t = cio__thread_get();
    cio_coro_t *co;
    int rc = make(&co, t, stack_size, room);
    if (rc)
        return rc;
    setup(co, t, fn, arg);
    *out = co;
    return 0;
}

/* The fast path takes a default-size coroutine from this thread's pool
 * (empty until the thread is ready); its room is a multiple of 64. */
static inline int create(cio_coro_t **out, cio_coro_cb fn, void *arg,
                         size_t stack_size, size_t room)
{
    struct pool *p = &cio__tls_thread.pools[0];
    cio_coro_t *co = p->head;
    if (__builtin_expect(co != NULL && stack_size == 0 && co->room >= room &&
                             out && fn,
                         1)) {
        p->head = co->next_free;
        p->count--;
        setup(co, &cio__tls_thread, fn, arg);
        *out = co;
        return 0;
    }
    return create_slow(out, fn, arg, stack_size, room);
}

int cio__coro_create_room(cio_coro_t **out, cio_coro_cb fn, void *arg,
                          size_t stack_size, size_t room)
{
    return create(out, fn, arg, stack_size, room);
}

int cio_coro_create(cio_coro_t **out, cio_coro_cb fn, void *arg,
                    size_t stack_size)
{
    return create(out, fn, arg, stack_size, 0);
}

/* For copied.c: a new coroutine's fields, the thread, the copier. */
void cio__coro_setup(cio_coro_t *co, struct cio__thread *t, cio_coro_cb fn,
                     void *arg)
{
    setup(co, t, fn, arg);
}
