/* Queues: FIFO order, bounded and unbounded, deadlines on both ends,
 * direct hand-over to waiting getters and from waiting putters, close
 * (getters drain, then -EPIPE), free with waiters, use outside a task.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "corio.h"

static cio_queue_t *q;
static char trail[64];
static int ntrail;

static void *getter(void *arg)
{
    void *item;
    int rc = cio_queue_get(q, &item, -1);
    if (rc == 0)
        trail[ntrail++] = (char)(intptr_t)item;
    else
        trail[ntrail++] = (char)(intptr_t)arg;
    return (void *)(intptr_t)rc;
}

static void *putter(void *arg)
{
    int rc = cio_queue_put(q, arg, -1);
    trail[ntrail++] = (char)(intptr_t)arg;
    return (void *)(intptr_t)rc;
}

static void *main_task(void *arg)
{
    (void)arg;
    void *item;
    /* unbounded: grows, keeps order */
    CHECK_EQ(cio_queue_new(&q, 0), 0);
    for (intptr_t i = 0; i < 1000; i++)
        CHECK_EQ(cio_queue_put(q, (void *)i, 0), 0);
    CHECK_EQ(cio_queue_len(q), 1000);
    for (intptr_t i = 0; i < 1000; i++) {
        CHECK_EQ(cio_queue_get(q, &item, 0), 0);
        CHECK_EQ((intptr_t)item, i);
    }
    CHECK_EQ(cio_queue_get(q, &item, 0), -ETIMEDOUT);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_queue_get(q, &item, cio_deadline_in(20)), -ETIMEDOUT);
    CHECK(cio_hub_now() - start >= 19);

    /* waiting getters are served in arrival order, straight from put */
    cio_task_t *g[3];
    ntrail = 0;
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cio_task_spawn(&g[i], getter, (void *)'x'), 0);
    CHECK_EQ(cio_task_sleep(1), 0);
    CHECK_EQ(cio_queue_put(q, (void *)'a', 0), 0);
    CHECK_EQ(cio_queue_put(q, (void *)'b', 0), 0);
    CHECK_EQ(cio_queue_len(q), 0); /* handed over, not buffered */
    CHECK_EQ(cio_queue_put(q, (void *)'c', 0), 0);
    CHECK_EQ(cio_task_join_all(g, 3, -1), 0);
    CHECK(memcmp(trail, "abc", 3) == 0);
    for (int i = 0; i < 3; i++)
        cio_task_free(g[i]);
    cio_queue_free(q);

    /* bounded: put waits for room; its item moves in on get */
    CHECK_EQ(cio_queue_new(&q, 2), 0);
    CHECK_EQ(cio_queue_put(q, (void *)1, 0), 0);
    CHECK_EQ(cio_queue_put(q, (void *)2, 0), 0);
    CHECK_EQ(cio_queue_put(q, (void *)3, 0), -ETIMEDOUT);
    CHECK_EQ(cio_queue_put(q, (void *)3, cio_deadline_in(10)), -ETIMEDOUT);
    cio_task_t *p;
    ntrail = 0;
    CHECK_EQ(cio_task_spawn(&p, putter, (void *)'3'), 0);
    CHECK_EQ(cio_task_sleep(1), 0);
    CHECK_EQ(ntrail, 0); /* still waiting */
    CHECK_EQ(cio_queue_get(q, &item, 0), 0);
    CHECK_EQ((intptr_t)item, 1);
    CHECK_EQ(cio_queue_len(q), 2);
    CHECK_EQ(cio_task_join(p, -1), 0);
    CHECK_EQ((intptr_t)cio_task_result(p), 0);
    cio_task_free(p);
    CHECK_EQ(cio_queue_get(q, &item, 0), 0);
    CHECK_EQ((intptr_t)item, 2);
    CHECK_EQ(cio_queue_get(q, &item, 0), 0);
    CHECK_EQ((intptr_t)item, '3');

    /* close: puts refused, the rest drains, then -EPIPE for everyone */
    CHECK_EQ(cio_queue_put(q, (void *)7, 0), 0);
    ntrail = 0;
    CHECK_EQ(cio_task_spawn(&p, putter, (void *)'p'), 0);
    CHECK_EQ(cio_queue_put(q, (void *)8, 0), 0);
    CHECK_EQ(cio_task_sleep(1), 0); /* p waits for room */
    cio_queue_close(q);
    CHECK_EQ(cio_task_join(p, -1), 0);
    CHECK_EQ((intptr_t)cio_task_result(p), -EPIPE);
    cio_task_free(p);
    CHECK_EQ(cio_queue_put(q, (void *)9, 0), -EPIPE);
    CHECK_EQ(cio_queue_get(q, &item, 0), 0);
    CHECK_EQ((intptr_t)item, 7);
    CHECK_EQ(cio_queue_get(q, &item, -1), 0);
    CHECK_EQ((intptr_t)item, 8);
    CHECK_EQ(cio_queue_get(q, &item, -1), -EPIPE);
    cio_queue_close(q); /* twice is harmless */
    cio_queue_free(q);

    /* a closed queue wakes its waiting getters with -EPIPE */
    CHECK_EQ(cio_queue_new(&q, 0), 0);
    CHECK_EQ(cio_task_spawn(&g[0], getter, (void *)'e'), 0);
    CHECK_EQ(cio_task_sleep(1), 0);
    cio_queue_close(q);
    CHECK_EQ(cio_task_join(g[0], -1), 0);
    CHECK_EQ((intptr_t)cio_task_result(g[0]), -EPIPE);
    cio_task_free(g[0]);
    cio_queue_free(q);

    /* freeing a queue wakes its waiters with -EPIPE */
    CHECK_EQ(cio_queue_new(&q, 0), 0);
    CHECK_EQ(cio_task_spawn(&g[0], getter, (void *)'f'), 0);
    CHECK_EQ(cio_task_sleep(1), 0);
    cio_queue_free(q);
    CHECK_EQ(cio_task_join(g[0], -1), 0);
    CHECK_EQ((intptr_t)cio_task_result(g[0]), -EPIPE);
    cio_task_free(g[0]);

    /* a getter that timed out is skipped by the next put */
    CHECK_EQ(cio_queue_new(&q, 0), 0);
    CHECK_EQ(cio_queue_get(q, &item, cio_deadline_in(1)), -ETIMEDOUT);
    CHECK_EQ(cio_queue_put(q, (void *)5, 0), 0);
    CHECK_EQ(cio_queue_len(q), 1);
    CHECK_EQ(cio_queue_get(q, NULL, 0), -EINVAL);
    cio_queue_free(q);
    return NULL;
}

int main(void)
{
    /* outside a task: puts and gets that need no wait work */
    CHECK_EQ(cio_queue_new(&q, 1), 0);
    CHECK_EQ(cio_queue_put(q, (void *)1, -1), 0);
    CHECK_EQ(cio_queue_put(q, (void *)2, -1), -EAGAIN);
    void *item;
    CHECK_EQ(cio_queue_get(q, &item, -1), 0);
    CHECK_EQ(cio_queue_get(q, &item, -1), -EAGAIN);
    cio_queue_free(q);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
