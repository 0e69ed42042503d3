/* The state of each thread that uses coroutines, in thread-local storage:
 * its root coroutine (the thread's own stack), the running coroutine, the
 * pools of freed coroutines that keep their stacks (so create+run+free
 * costs no system call) and a block of ids; set up on first use, emptied
 * when the thread exits. */
#include "coro/coro_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#if CIO_TSAN
#include <sanitizer/tsan_interface.h>
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

__attribute__((noinline)) struct cio__thread *cio__thread_init(void)
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

cio_coro_t *cio__coro_running(void)
{
    return cio__tls_current;
}

cio_coro_t *cio__pool_take(struct cio__thread *t, size_t size)
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

bool cio__pool_put(struct cio__thread *t, cio_coro_t *co)
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

void cio__coro_release(cio_coro_t *co)
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
    t->sstack_idle = NULL;
    for (unsigned i = 0; i < t->nsstacks; i++) {
        if (t->sstacks[i]) {
            t->sstacks[i]->owner = NULL; /* coroutines may outlive us */
            cio__sstack_unref(t->sstacks[i]);
        }
    }
    free(t->sstacks);
    t->sstacks = NULL;
    t->nsstacks = 0;
    for (int i = 0; i < POOL_CLASSES; i++) {
        while (t->pools[i].head) {
            cio_coro_t *co = t->pools[i].head;
            t->pools[i].head = co->next_free;
            cio__coro_release(co);
        }
        t->pools[i].count = 0;
    }
    cio__overflow_thread_fini(t->altstack);
    t->altstack = NULL;
}

void cio_coro_set_fpu_private(bool on)
{
    cio__thread_get()->shared_fpu = !on;
}

bool cio_coro_fpu_private(void)
{
    return !cio__thread_get()->shared_fpu;
}

cio_coro_t *cio_coro_current(void)
{
    cio__thread_get();
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
        uint64_t fresh = next_id(cio__thread_get());
        if (__atomic_compare_exchange_n(slot, &id, fresh, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            id = fresh;
    }
    return id;
}
