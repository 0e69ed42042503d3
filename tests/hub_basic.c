/* The hub's basics: spawn, join, results, sleep order, yield, joinall,
 * deadlines, detach, names and the refusal of nested runs.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "corio.h"

static char order[64];
static int norder;

static void *add_one(void *arg)
{
    return (void *)((intptr_t)arg + 1);
}

static void *sleeper(void *arg)
{
    int ms = (int)(intptr_t)arg;
    CHECK_EQ(cio_task_sleep(ms), 0);
    order[norder++] = (char)('0' + ms / 10);
    return NULL;
}

static void *yielder(void *arg)
{
    char c = (char)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        order[norder++] = c;
        CHECK_EQ(cio_task_sleep(0), 0);
    }
    return NULL;
}

static void *sleep_forever(void *arg)
{
    *(int *)arg = cio_task_sleep(-1);
    return NULL;
}

static void *nested(void *arg)
{
    (void)arg;
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    CHECK(cio_task_self() != NULL);
    CHECK(cio_hub_loop() != NULL);
    CHECK_EQ(cio_hub_run(NULL, nested, NULL), -EBUSY);

    /* spawn, join, result, status */
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, add_one, (void *)41), 0);
    CHECK(!cio_task_done(t));
    CHECK_EQ(cio_hub_task_count(), 2);
    CHECK_EQ(cio_task_join(t, -1), 0);
    CHECK(cio_task_done(t));
    CHECK_EQ((intptr_t)cio_task_result(t), 42);
    CHECK_EQ(cio_task_status(t), 0);
    CHECK_EQ(cio_task_join(t, 0), 0); /* joining again is fine */
    CHECK_EQ(cio_task_kill(t), -ESRCH);
    cio_task_free(t);
    CHECK_EQ(cio_task_join(cio_task_self(), -1), -EDEADLK);

    /* sleeps finish in deadline order, not spawn order */
    cio_task_t *ts[3];
    norder = 0;
    CHECK_EQ(cio_task_spawn(&ts[0], sleeper, (void *)30), 0);
    CHECK_EQ(cio_task_spawn(&ts[1], sleeper, (void *)10), 0);
    CHECK_EQ(cio_task_spawn(&ts[2], sleeper, (void *)20), 0);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_task_join_all(ts, 3, -1), 0);
    CHECK(cio_hub_now() - start >= 29);
    CHECK(memcmp(order, "123", 3) == 0);
    for (int i = 0; i < 3; i++)
        cio_task_free(ts[i]);

    /* sleep(0) round-robins among ready tasks */
    norder = 0;
    CHECK_EQ(cio_task_spawn(&ts[0], yielder, (void *)'a'), 0);
    CHECK_EQ(cio_task_spawn(&ts[1], yielder, (void *)'b'), 0);
    ts[2] = NULL; /* skipped by joinall */
    CHECK_EQ(cio_task_join_all(ts, 3, -1), 0);
    CHECK(memcmp(order, "ababab", 6) == 0);
    cio_task_free(ts[0]);
    cio_task_free(ts[1]);

    /* deadlines: join and joinall time out, the task goes on */
    /* long enough that a loaded machine cannot end it before the checks */
    CHECK_EQ(cio_task_spawn(&t, sleeper, (void *)400), 0);
    CHECK_EQ(cio_task_join(t, 0), -ETIMEDOUT);
    start = cio_hub_now();
    CHECK_EQ(cio_task_join(t, cio_deadline_in(10)), -ETIMEDOUT);
    CHECK(cio_hub_now() - start >= 9);
    CHECK_EQ(cio_task_join_all(&t, 1, cio_deadline_in(5)), -ETIMEDOUT);
    CHECK(!cio_task_done(t));
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    CHECK_EQ(cio_deadline_in(-5), -1);

    /* detached tasks, a task detached before it ends (it runs on) and one
     * freed before it ends (it is killed) */
    CHECK_EQ(cio_task_spawn(NULL, sleeper, (void *)10), 0);
    CHECK_EQ(cio_task_spawn(&t, sleeper, (void *)10), 0);
    cio_task_set_name(t, "napper");
    cio_task_detach(t);
    int freed_rc = 1;
    CHECK_EQ(cio_task_spawn(&t, sleep_forever, &freed_rc), 0);
    cio_task_free(t);
    cio_task_free(NULL);
    CHECK_EQ(cio_hub_task_count(), 4);
    CHECK_EQ(cio_task_sleep(30), 0);
    CHECK_EQ(cio_hub_task_count(), 1);
    CHECK_EQ(freed_rc, -ECANCELED);

    /* data pointers are the program's: the hub uses none of them */
    CHECK(cio_loop_data(cio_hub_loop()) == NULL);
    CHECK(cio_coro_data(cio_coro_current()) == NULL);
    CHECK(cio_task_data(cio_task_self()) == NULL);
    cio_loop_set_data(cio_hub_loop(), &freed_rc);
    cio_coro_set_data(cio_coro_current(), &norder);
    cio_task_set_data(cio_task_self(), order);
    CHECK_EQ(cio_task_spawn(&t, add_one, (void *)1), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    cio_task_free(t);
    CHECK(cio_loop_data(cio_hub_loop()) == &freed_rc);
    CHECK(cio_coro_data(cio_coro_current()) == &norder);
    CHECK(cio_task_data(cio_task_self()) == order);

    /* interrupt: one wait returns -EINTR, the next works */
    CHECK_EQ(cio_task_interrupt(cio_task_self()), 0);
    CHECK_EQ(cio_task_sleep(10), -EINTR);
    CHECK_EQ(cio_task_sleep(1), 0);
    CHECK(!cio_task_cancelled());
    return (void *)7;
}

int main(void)
{
    CHECK(cio_task_self() == NULL);
    CHECK(cio_hub_loop() == NULL);
    CHECK_EQ(cio_task_sleep(1), -EPERM);
    void *result = NULL;
    CHECK_EQ(cio_hub_run(&result, main_task, NULL), 0);
    CHECK_EQ((intptr_t)result, 7);
    CHECK_EQ(cio_hub_task_count(), 0);
    /* a second run on the same thread */
    CHECK_EQ(cio_hub_run(&result, add_one, (void *)1), 0);
    CHECK_EQ((intptr_t)result, 2);
    cio_hub_opts_t bad = {.backend = "nosuch"};
    CHECK_EQ(cio_hub_run_ex(&bad, NULL, add_one, NULL), -EINVAL);
    return 0;
}
