/* Events, semaphores, locks, wait groups and pools, with their deadlines.
 * (Cancellation of each wait is in hub_kill.)
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "corio.h"

static cio_event_t *ev;
static cio_sem_t *sem;
static cio_lock_t *lock;
static cio_waitgroup_t *wg;
static int inside, most_inside, woke;

/* Every object carries a pointer for the program: NULL at creation, kept
 * as set, NULL-safe. */
#define CHECK_DATA(type, obj, ...)                                             \
    do {                                                                       \
        int mark;                                                              \
        CHECK_EQ(cio_##type##_new(&obj, ##__VA_ARGS__), 0);                    \
        CHECK(cio_##type##_data(obj) == NULL);                                 \
        cio_##type##_set_data(obj, &mark);                                     \
        CHECK(cio_##type##_data(obj) == &mark);                                \
        CHECK(cio_##type##_data(NULL) == NULL);                                \
        cio_##type##_set_data(NULL, &mark);                                    \
        cio_##type##_free(obj);                                                \
    } while (0)

static void data_pointers(void)
{
    cio_queue_t *q;
    cio_event_t *e;
    cio_sem_t *s;
    cio_lock_t *l;
    cio_waitgroup_t *w;
    cio_pool_t *p;
    cio_chan_t *c;
    CHECK_DATA(queue, q, 4);
    CHECK_DATA(event, e);
    CHECK_DATA(sem, s, 1);
    CHECK_DATA(lock, l);
    CHECK_DATA(waitgroup, w);
    CHECK_DATA(pool, p, 2);
    CHECK_DATA(chan, c, 0);
}

static void *event_waiter(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_event_wait(ev, -1), 0);
    woke++;
    return NULL;
}

static void *sem_user(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_sem_acquire(sem, -1), 0);
    inside++;
    if (inside > most_inside)
        most_inside = inside;
    cio_task_sleep(5);
    inside--;
    cio_sem_release(sem);
    return NULL;
}

static void *lock_user(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_lock_acquire(lock, -1), 0);
    inside++;
    CHECK_EQ(inside, 1);
    cio_task_sleep(2);
    inside--;
    CHECK_EQ(cio_lock_release(lock), 0);
    return NULL;
}

static void *lock_thief(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_lock_release(lock), -EPERM); /* not ours */
    return NULL;
}

static void *worker(void *arg)
{
    cio_task_sleep((intptr_t)arg);
    woke++;
    cio_waitgroup_done(wg);
    return NULL;
}

static void *pooled(void *arg)
{
    inside++;
    if (inside > most_inside)
        most_inside = inside;
    cio_task_sleep(3);
    inside--;
    return (void *)((intptr_t)arg * 2);
}

static void *main_task(void *arg)
{
    (void)arg;
    cio_task_t *ts[8];
    /* event: wait blocks while clear, set wakes every waiter */
    CHECK_EQ(cio_event_new(&ev), 0);
    CHECK(!cio_event_is_set(ev));
    CHECK_EQ(cio_event_wait(ev, 0), -ETIMEDOUT);
    CHECK_EQ(cio_event_wait(ev, cio_deadline_in(5)), -ETIMEDOUT);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cio_task_spawn(&ts[i], event_waiter, NULL), 0);
    CHECK_EQ(cio_task_sleep(1), 0);
    CHECK_EQ(woke, 0);
    cio_event_set(ev);
    CHECK(cio_event_is_set(ev));
    CHECK_EQ(cio_task_join_all(ts, 3, -1), 0);
    CHECK_EQ(woke, 3);
    CHECK_EQ(cio_event_wait(ev, 0), 0);
    cio_event_clear(ev);
    CHECK_EQ(cio_event_wait(ev, 0), -ETIMEDOUT);
    for (int i = 0; i < 3; i++)
        cio_task_free(ts[i]);
    cio_event_free(ev);

    /* semaphore: at most 2 inside */
    CHECK_EQ(cio_sem_new(&sem, 2), 0);
    CHECK_EQ(cio_sem_value(sem), 2);
    inside = most_inside = 0;
    for (int i = 0; i < 6; i++)
        CHECK_EQ(cio_task_spawn(&ts[i], sem_user, NULL), 0);
    CHECK_EQ(cio_task_join_all(ts, 6, -1), 0);
    CHECK_EQ(most_inside, 2);
    CHECK_EQ(cio_sem_value(sem), 2);
    for (int i = 0; i < 6; i++)
        cio_task_free(ts[i]);
    CHECK_EQ(cio_sem_acquire(sem, 0), 0);
    CHECK_EQ(cio_sem_acquire(sem, 0), 0);
    CHECK_EQ(cio_sem_acquire(sem, 0), -ETIMEDOUT);
    CHECK_EQ(cio_sem_acquire(sem, cio_deadline_in(5)), -ETIMEDOUT);
    cio_sem_release(sem);
    CHECK_EQ(cio_sem_value(sem), 1);
    cio_sem_free(sem);

    /* lock: mutual exclusion, owner checks, deadlines */
    CHECK_EQ(cio_lock_new(&lock), 0);
    inside = 0;
    for (int i = 0; i < 4; i++)
        CHECK_EQ(cio_task_spawn(&ts[i], lock_user, NULL), 0);
    CHECK_EQ(cio_task_join_all(ts, 4, -1), 0);
    for (int i = 0; i < 4; i++)
        cio_task_free(ts[i]);
    CHECK_EQ(cio_lock_acquire(lock, 0), 0);
    CHECK_EQ(cio_lock_acquire(lock, 0), -EDEADLK);
    CHECK_EQ(cio_task_spawn(&ts[0], lock_thief, NULL), 0);
    CHECK_EQ(cio_task_join(ts[0], -1), 0);
    cio_task_free(ts[0]);
    CHECK_EQ(cio_lock_release(lock), 0);
    CHECK_EQ(cio_lock_release(lock), -EPERM);
    cio_lock_free(lock);

    /* wait group */
    CHECK_EQ(cio_waitgroup_new(&wg), 0);
    CHECK_EQ(cio_waitgroup_wait(wg, 0), 0);
    woke = 0;
    cio_waitgroup_add(wg, 3);
    for (intptr_t i = 0; i < 3; i++)
        CHECK_EQ(cio_task_spawn(NULL, worker, (void *)(i * 3)), 0);
    CHECK_EQ(cio_waitgroup_wait(wg, 0), -ETIMEDOUT);
    CHECK_EQ(cio_waitgroup_wait(wg, -1), 0);
    CHECK_EQ(woke, 3);
    cio_waitgroup_done(wg); /* below zero is ignored */
    CHECK_EQ(cio_waitgroup_wait(wg, 0), 0);
    cio_waitgroup_free(wg);

    /* pool: at most 3 at once, results through the task handles */
    cio_pool_t *pool;
    CHECK_EQ(cio_pool_new(&pool, 0), -EINVAL);
    CHECK_EQ(cio_pool_new(&pool, 3), 0);
    inside = most_inside = 0;
    for (intptr_t i = 0; i < 8; i++)
        CHECK_EQ(cio_pool_spawn(pool, &ts[i], pooled, (void *)i, -1), 0);
    CHECK(cio_pool_running(pool) <= 3);
    CHECK_EQ(cio_pool_join(pool, -1), 0);
    CHECK_EQ(most_inside, 3);
    CHECK_EQ(cio_pool_running(pool), 0);
    for (intptr_t i = 0; i < 8; i++) {
        CHECK_EQ((intptr_t)cio_task_result(ts[i]), 2 * i);
        cio_task_free(ts[i]);
    }
    for (int i = 0; i < 3; i++)
        CHECK_EQ(cio_pool_spawn(pool, NULL, pooled, NULL, -1), 0);
    CHECK_EQ(cio_pool_spawn(pool, NULL, pooled, NULL, 0), -ETIMEDOUT);
    CHECK_EQ(cio_pool_join(pool, 0), -ETIMEDOUT);
    cio_pool_free(pool); /* waits for the three */
    CHECK_EQ(inside, 0);
    data_pointers();
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
