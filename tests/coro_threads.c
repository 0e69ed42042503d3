/* Each thread has its own root and current coroutine: threads switch their
 * own coroutines at the same time, a suspended coroutine of another thread
 * is refused with -EINVAL, and a never-run one may start on any thread. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "corio.h"
#include "check.h"

#define THREADS 4
#define ROUNDS 20000

static void *counter(void *arg)
{
    uintptr_t n = (uintptr_t)arg;
    for (;;)
        n = (uintptr_t)cio_coro_yield((void *)(n + 1));
    return NULL;
}

static cio_coro_t *foreign; /* a coroutine suspended on the main thread */
static cio_coro_t *fresh;   /* created by main, never run */

static void *thread_main(void *arg)
{
    cio_coro_t *root = cio_coro_current();
    CHECK(cio_coro_parent(root) == NULL);
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, counter, NULL, 0), 0);
    uintptr_t n = (uintptr_t)arg * 1000000;
    for (int i = 0; i < ROUNDS; i++) {
        void *got;
        CHECK_EQ(cio_coro_switch(co, (void *)n, &got), 0);
        CHECK_EQ((uintptr_t)got, n + 1);
        CHECK(cio_coro_current() == root);
        n = (uintptr_t)got;
    }
    CHECK(cio_coro_parent(co) == root);
    CHECK_EQ(cio_coro_switch(foreign, NULL, NULL), -EINVAL);
    cio_coro_free(co);
    /* Short-lived coroutines: the thread's pool is flushed at exit. */
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(cio_coro_create(&co, counter, NULL, 0), 0);
        cio_coro_free(co);
    }
    return (void *)n;
}

static void *starter(void *arg)
{
    void *got;
    CHECK_EQ(cio_coro_switch(fresh, (void *)41, &got), 0);
    CHECK_EQ((uintptr_t)got, 42);
    CHECK(cio_coro_parent(fresh) == cio_coro_current());
    cio_coro_free(fresh);
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_coro_create(&foreign, counter, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(foreign, NULL, NULL), 0);
    pthread_t th[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, (void *)(i + 1)) == 0);
    for (uintptr_t i = 0; i < THREADS; i++) {
        void *n;
        CHECK(pthread_join(th[i], &n) == 0);
        CHECK_EQ((uintptr_t)n, (i + 1) * 1000000 + ROUNDS);
    }
    CHECK_EQ(cio_coro_create(&fresh, counter, NULL, 0), 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, starter, NULL) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    cio_coro_free(foreign);
    printf("coro_threads: ok\n");
    return 0;
}
