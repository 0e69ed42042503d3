/* Coroutines switched by hand (greenlet style): create, switch, yield, free.
 *
 * Each thread has a state in thread-local storage: its root coroutine (the
 * thread's own stack), the running coroutine, a pool of freed coroutines
 * that keep their stacks (so create+run+free costs no system call) and a
 * block of ids. */
#include "coro/coro_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if CIO_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if CIO_TSAN
#include <sanitizer/tsan_interface.h>
#endif

#if !CIO_USE_UCONTEXT
#ifndef CIO_USE_UCONTEXT
/* cio__coro_saved_sp (room.h) reads the saved sp and the frames' copy. */
_Static_assert(offsetof(struct cio_coro, ctx) == 0 &&
                   offsetof(cio__ctx, sp) == 0 &&
                   offsetof(struct cio_coro, saved) == 3 * sizeof(void *),
               "a coroutine starts with its saved stack pointer, and its "
               "fourth word is the copy of its frames");
_Static_assert(offsetof(struct cio_coro, flag) == CIO__CORO_FLAG_AT,
               "cio__coro_flag reads the flag where it is");
#endif
_Static_assert(offsetof(struct cio_coro, fn) <= 64,
               "what a switch reads fits one cache line");
#endif

TLS struct cio__thread cio__tls_thread;
/* The running coroutine; read inline by the hub (coro/room.h). */
TLS cio_coro_t *cio__tls_current;
static atomic_uint_fast64_t id_source = 1;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *arg);

static void make_exit_key(void)
{
    pthread_key_create(&exit_key, thread_exit);
}

static uint64_t next_id(struct cio__thread *t)
{
    if (UNLIKELY(t->next_id == t->id_limit)) {
        t->next_id = atomic_fetch_add(&id_source, ID_BLOCK);
        t->id_limit = t->next_id + ID_BLOCK;
    }
    return t->next_id++;
}

static __attribute__((noinline)) struct cio__thread *thread_init(void)
{
    struct cio__thread *t = &cio__tls_thread;
    t->root.thread = t;
    t->root.is_root = 1;
    t->root.stack.guarded = 1; /* no canary to check on its switches */
    t->root.state = CIO__CORO_SUSPENDED;
    t->root.id = next_id(t);
    t->pools[0].size = CIO_CORO_STACK_DEFAULT; /* fast paths use it */
#if CIO_TSAN
    t->root.tsan_fiber = __tsan_get_current_fiber();
#endif
    t->ready = 1;
    cio__tls_current = &t->root;
    t->altstack = cio__overflow_thread_init();
    pthread_once(&exit_once, make_exit_key);
    pthread_setspecific(exit_key, t);
    return t;
}

static inline struct cio__thread *thread_get(void)
{
    if (UNLIKELY(!cio__tls_thread.ready))
        return thread_init();
    return &cio__tls_thread;
}

cio_coro_t *cio__coro_running(void)
{
    return cio__tls_current;
}

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

/* Copies stack words without ASan checks: frames hold poisoned redzones. */
#if CIO_ASAN
__attribute__((no_sanitize_address))
#endif
static void
stack_copy(void *dst, const void *src, size_t len)
{
    volatile uint64_t *d = dst;
    const volatile uint64_t *s = src;
    for (size_t i = 0; i < len / 8; i++)
        d[i] = s[i];
}

static void unshrink(cio_coro_t *co)
{
    char *top = co->stack.lo + co->stack.size;
    stack_copy(top - co->saved_len, co->saved, co->saved_len);
    free(co->saved);
    co->saved = NULL;
    co->saved_len = 0;
}

static inline void check_canary(const cio_coro_t *co)
{
    if (!co->stack.guarded && co->stack.lo && !cio__stack_canary_ok(&co->stack))
        cio__overflow_report(co);
}

/* Everything a switch from `from` to `to` does before the registers move. */
static SWITCH_INLINE void prepare(cio_coro_t *from, cio_coro_t *to)
{
    if (!from->stack.guarded)
        check_canary(from);
    if (UNLIKELY(to->saved != NULL))
        unshrink(to);
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
                                cio_coro_t *to, void *value, void **received)
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
                               cio_coro_t *to, void *value, void **received)
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

#if FRESH_START
/* Goes from `from` to `to`, two copied coroutines of one stack, through
 * the thread's copier (made with the first copied coroutine): `from`
 * switches to it as to any coroutine, so its frames are saved; the copier
 * moves them out, moves to's in, and switches to `to` with the value. */
static int hop(struct cio__thread *t, cio_coro_t *from, cio_coro_t *to,
               void *value, void **received, bool fresh)
{
    cio_coro_t *c = t->copier;
    t->hop_to = to;
    t->hop_value = value;
    t->hop_fresh = fresh;
    if (!from->stack.guarded)
        check_canary(from);
    cio__tls_current = c;
    tsan_switch(c);
    if (c->state == CIO__CORO_NEW) {
        c->state = CIO__CORO_SUSPENDED;
        c->parent = from;
        return start_status(t, from, c, t, received);
    }
    return switch_status(t, from, c, NULL, received);
}

static void *copier_main(void *arg)
{
    struct cio__thread *t = arg;
    for (;;) {
        cio_coro_t *to = t->hop_to;
        cio__copied_move(to);
        cio__tls_current = to;
        tsan_switch(to);
        if (t->hop_fresh)
            start_status(t, t->copier, to, t->hop_value, NULL);
        else
            switch_status(t, t->copier, to, t->hop_value, NULL);
    }
    return NULL;
}

/* A yield or an end cannot wait for a pinned stack: the hub, the only
 * user of copied coroutines, never resumes one of them that way. */
static void copied_check(const cio_coro_t *to)
{
    if (cio__copied_busy(to)) {
        static const char msg[] = "corio: coroutine resumed on a stack that "
                                  "another one keeps\n";
        ssize_t unused = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)unused;
        abort();
    }
}
#endif

/* The nearest ancestor still able to run (roots never finish). */
static cio_coro_t *live_parent(cio_coro_t *co)
{
    cio_coro_t *p = co->parent;
    while (p && p->state == CIO__CORO_DONE)
        p = p->parent;
    return p ? p : &co->thread->root;
}

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
    check_canary(co);
    cio_coro_t *to = live_parent(co);
#if FRESH_START
    if (to->copied && to->saved) {
        copied_check(to);
        if (cio__copied_bring_in(co, to)) {
            hop(co->thread, co, to, result, NULL, false);
            abort(); /* a finished coroutine is never resumed */
        }
    }
#endif
    if (UNLIKELY(to->saved != NULL))
        unshrink(to);
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

static cio_coro_t *pool_take(struct cio__thread *t, size_t size)
{
    for (int i = 0; i < POOL_CLASSES; i++) {
        struct pool *p = &t->pools[i];
        if (p->size == size && p->head) {
            cio_coro_t *co = p->head;
            p->head = co->next_free;
            p->count--;
            return co;
        }
    }
    return NULL;
}

static bool pool_put(struct cio__thread *t, cio_coro_t *co)
{
    struct pool *spare = NULL;
    for (int i = 0; i < POOL_CLASSES; i++) {
        struct pool *p = &t->pools[i];
        if (p->size == co->stack.size) {
            if (p->count >= POOL_MAX)
                return false;
            co->next_free = p->head;
            p->head = co;
            p->count++;
            return true;
        }
        if (!p->count && !spare && i > 0) /* 0 stays the default size */
            spare = p;
    }
    if (!spare)
        return false;
    spare->size = co->stack.size;
    co->next_free = NULL;
    spare->head = co;
    spare->count = 1;
    return true;
}

static void release(cio_coro_t *co)
{
    cio__stack_release(&co->stack);
    free(co);
}

static void thread_exit(void *arg)
{
    struct cio__thread *t = arg;
    if (t->copier) /* to its pool, emptied below */
        cio_coro_free(t->copier);
    t->copier = NULL;
    for (int i = 0; i < SSTACKS; i++) {
        if (t->sstacks[i])
            cio__sstack_unref(t->sstacks[i]);
        t->sstacks[i] = NULL;
    }
    for (int i = 0; i < POOL_CLASSES; i++) {
        while (t->pools[i].head) {
            cio_coro_t *co = t->pools[i].head;
            t->pools[i].head = co->next_free;
            release(co);
        }
        t->pools[i].count = 0;
    }
    cio__overflow_thread_fini(t->altstack);
    t->altstack = NULL;
}

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
    cio_coro_t *co = pool_take(t, size);
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
    struct cio__thread *t = thread_get();
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

struct cio__thread *cio__thread_get(void)
{
    return thread_get();
}

#if FRESH_START
int cio__copier_new(struct cio__thread *t)
{
    return create(&t->copier, copier_main, t, 0, 0);
}
#endif

void *cio__coro_room(cio_coro_t *co)
{
    return (char *)co + HEAD_BYTES;
}

#ifdef CIO_USE_UCONTEXT
unsigned cio__coro_flag(const cio_coro_t *co)
{
    return co->flag;
}

void cio__coro_set_flag(cio_coro_t *co, unsigned flag)
{
    co->flag = (uint8_t)flag;
}
#endif

/* Every case of cio_coro_switch: first use on this thread, coroutines that
 * never ran or finished, canaries, shrunk stacks, bad input. */
static __attribute__((noinline)) int switch_slow(cio_coro_t *to, void *value,
                                                 void **received)
{
    struct cio__thread *t = thread_get();
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
        return hop(t, from, to, value, received, fresh);
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
    thread_get();
    cio_coro_t *from = cio__tls_current;
    if (from->is_root)
        return value;
    cio_coro_t *to = live_parent(from);
#if FRESH_START
    if (to->copied && to->saved) {
        copied_check(to);
        if (cio__copied_bring_in(from, to)) {
            void *got = NULL;
            hop(from->thread, from, to, value, &got, false);
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

void cio_coro_set_fpu_private(bool on)
{
    thread_get()->shared_fpu = !on;
}

bool cio_coro_fpu_private(void)
{
    return !thread_get()->shared_fpu;
}

cio_coro_t *cio_coro_current(void)
{
    thread_get();
    return cio__tls_current;
}

/* Ids are taken when first asked for: creating stays cheap. A race
 * between two threads asking at once keeps the first id stored. */
uint64_t cio_coro_id(const cio_coro_t *co)
{
    if (!co)
        return 0;
    uint64_t *slot = (uint64_t *)&((cio_coro_t *)co)->id;
    uint64_t id = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (!id) {
        uint64_t fresh = next_id(thread_get());
        if (__atomic_compare_exchange_n(slot, &id, fresh, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            id = fresh;
    }
    return id;
}

static __attribute__((noinline)) void free_slow(cio_coro_t *co)
{
    if (!co || co->is_root || co == cio__tls_current)
        return;
    check_canary(co);
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
    struct cio__thread *t = thread_get();
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
    if (!pool_put(t, co))
        release(co);
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

int cio_coro_shrink(cio_coro_t *co)
{
    if (!co || co->is_root)
        return -EINVAL;
    if (co == cio__tls_current)
        return -EBUSY;
    if (co->copied)
        return cio__copied_shrink(co);
    if (co->saved)
        return 0;
    check_canary(co);
    size_t len = 0;
    char *top = co->stack.lo + co->stack.size;
    if (co->state != CIO__CORO_DONE) {
        char *sp = cio__ctx_sp(&co->ctx);
        if (sp < co->stack.lo)
            sp = co->stack.lo;
        len = (size_t)(top - sp) & ~(size_t)7;
        co->saved = malloc(len ? len : 8);
        if (!co->saved)
            return -ENOMEM;
        stack_copy(co->saved, top - len, len);
    }
    co->saved_len = len;
    cio__stack_drop_pages(&co->stack);
    return 0;
}
