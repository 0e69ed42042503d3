/* Tasks spawned on another worker and joined from here: from the main
 * thread, from a task on one worker across to the others, many at once,
 * with deadlines, and killed by the stop when they outlive the grace.
 * CIO_TEST_TIMEOUT=60 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "corio.h"
#include "workers_net.h"

#define WORKERS 3
#define MANY 2000

static atomic_int detached_runs;
static atomic_int main_runs;

/* Returns the index of the worker it runs on, after a cooperative sleep. */
static void *where_am_i(void *arg)
{
    CHECK(cio_workers_self() != NULL);
    CHECK_EQ(cio_task_sleep((intptr_t)arg), 0);
    return (void *)(intptr_t)cio_workers_index();
}

static void *add_one(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return arg;
}

static void *count_detached(void *arg)
{
    (void)arg;
    atomic_fetch_add(&detached_runs, 1);
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    int r = cio_task_sleep(60000); /* outlives the grace: killed by the stop */
    return (void *)(intptr_t)r;
}

/* Each worker's main task: records that it ran and waits for the stop. */
static void *worker_main(void *arg)
{
    (void)arg;
    atomic_fetch_add(&main_runs, 1);
    CHECK(!cio_workers_stopping());
    CHECK_EQ(cio_workers_wait_stop(-1), 0);
    CHECK(cio_workers_stopping());
    return NULL;
}

/* Runs on worker 0: spawns on the others and joins from this hub. */
static void *coordinator(void *arg)
{
    cio_workers_t *g = arg;
    CHECK_EQ(cio_workers_index(), 0);
    cio_remote_t *rt[WORKERS];
    for (unsigned i = 0; i < WORKERS; i++)
        CHECK_EQ(cio_workers_spawn(g, &rt[i], i, where_am_i, (void *)5), 0);
    for (unsigned i = 0; i < WORKERS; i++) {
        void *res;
        CHECK_EQ(cio_remote_join(rt[i], cio_deadline_in(10000)), 0);
        res = cio_remote_result(rt[i]);
        CHECK_EQ(cio_remote_status(rt[i]), 0);
        CHECK_EQ((intptr_t)res, i);
        cio_remote_free(rt[i]);
    }
    /* Many small tasks on worker 1, joined in order from here. */
    static cio_remote_t *many[MANY];
    atomic_int counter = 0;
    for (int i = 0; i < MANY; i++)
        CHECK_EQ(cio_workers_spawn(g, &many[i], 1, add_one, &counter), 0);
    for (int i = 0; i < MANY; i++) {
        void *res;
        CHECK_EQ(cio_remote_join(many[i], cio_deadline_in(10000)), 0);
        res = cio_remote_result(many[i]);
        CHECK_EQ(cio_remote_status(many[i]), 0);
        CHECK(res == &counter);
        cio_remote_free(many[i]);
    }
    CHECK_EQ(atomic_load(&counter), MANY);
    return (void *)1;
}

/* The only CPU the calling thread may run on, or -1 if not pinned. */
static void *my_cpu(void *arg)
{
    (void)arg;
    cpu_set_t set;
    CHECK_EQ(pthread_getaffinity_np(pthread_self(), sizeof(set), &set), 0);
    if (CPU_COUNT(&set) != 1)
        return (void *)(intptr_t)-1;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &set))
            return (void *)(intptr_t)cpu;
    return (void *)(intptr_t)-1;
}

/* pin_cpus: worker i runs on the i-th allowed CPU, modulo their count. */
static void test_pinned(void)
{
    cpu_set_t allowed;
    CHECK_EQ(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
    int cpus[CPU_SETSIZE], ncpus = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            cpus[ncpus++] = cpu;
    CHECK(ncpus > 0);
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = WORKERS, .pin_cpus = true};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_start(g, NULL, NULL), 0);
    for (unsigned i = 0; i < WORKERS; i++) {
        cio_remote_t *rt;
        void *res;
        CHECK_EQ(cio_workers_spawn(g, &rt, i, my_cpu, NULL), 0);
        CHECK_EQ(cio_remote_join(rt, wn_now_ms() + 10000), 0);
        res = cio_remote_result(rt);
        CHECK_EQ(cio_remote_status(rt), 0);
        CHECK_EQ((intptr_t)res, cpus[i % (unsigned)ncpus]);
        cio_remote_free(rt);
    }
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    cio_workers_free(g);
}

/* threads = 0 gives one worker per CPU this thread may run on. */
static void default_count(void)
{
    cpu_set_t all, one;
    CHECK_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
    CHECK_EQ(cio_workers_cpus(), (unsigned)CPU_COUNT(&all));
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = 0};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_count(g), cio_workers_cpus());
    cio_workers_free(g);
    /* Confined to one CPU (as by taskset), the default follows. */
    int cpu = 0;
    while (!CPU_ISSET(cpu, &all))
        cpu++;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    CHECK_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
    CHECK_EQ(cio_workers_cpus(), 1);
    CHECK_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
}

int main(void)
{
    default_count();
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = WORKERS, .stop_grace_ms = 200};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_count(g), WORKERS);
    CHECK_EQ(cio_workers_index(), -1);
    CHECK(cio_workers_self() == NULL);
    CHECK_EQ(cio_workers_listener(), -EPERM);
    cio_remote_t *rt;
    CHECK_EQ(cio_workers_spawn(g, &rt, WORKERS, where_am_i, NULL), -EINVAL);
    CHECK_EQ(cio_workers_start(g, worker_main, NULL), 0);
    CHECK_EQ(cio_workers_start(g, worker_main, NULL), -EBUSY);

    /* From this plain thread to every worker. */
    for (unsigned i = 0; i < WORKERS; i++) {
        CHECK_EQ(cio_workers_spawn(g, &rt, i, where_am_i, (void *)1), 0);
        void *res;
        CHECK_EQ(cio_remote_join(rt, wn_now_ms() + 10000), 0);
        res = cio_remote_result(rt);
        CHECK_EQ(cio_remote_status(rt), 0);
        CHECK_EQ((intptr_t)res, i);
        /* Joining again gives the same answer. */
        CHECK_EQ(cio_remote_join(rt, 0), 0);
        res = cio_remote_result(rt);
        CHECK_EQ(cio_remote_status(rt), 0);
        CHECK_EQ((intptr_t)res, i);
        cio_remote_free(rt);
    }

    /* From a task on worker 0 across to the others. */
    CHECK_EQ(cio_workers_spawn(g, &rt, 0, coordinator, g), 0);
    void *res;
    CHECK_EQ(cio_remote_join(rt, wn_now_ms() + 30000), 0);
    res = cio_remote_result(rt);
    CHECK_EQ(cio_remote_status(rt), 0);
    CHECK_EQ((intptr_t)res, 1);
    cio_remote_free(rt);

    /* Detached ones run too. */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(cio_workers_spawn(g, NULL, (unsigned)i % WORKERS,
                                   count_detached, NULL),
                 0);
    int64_t until = wn_now_ms() + 10000;
    while (atomic_load(&detached_runs) < 100 && wn_now_ms() < until)
        wn_sleep_ms(5);
    CHECK_EQ(atomic_load(&detached_runs), 100);
    CHECK_EQ(atomic_load(&main_runs), WORKERS);

    /* A join that times out, then the stop kills the task after the
     * grace, and the join reports it. */
    cio_remote_t *slow, *never_joined;
    CHECK_EQ(cio_workers_spawn(g, &slow, 2, sleeper, NULL), 0);
    CHECK_EQ(cio_workers_spawn(g, &never_joined, 1, sleeper, NULL), 0);
    CHECK_EQ(cio_remote_join(slow, wn_now_ms() + 50), -ETIMEDOUT);
    int64_t t0 = wn_now_ms();
    cio_workers_stop(g);
    cio_workers_stop(g); /* twice is harmless */
    CHECK_EQ(cio_workers_spawn(g, &rt, 0, where_am_i, NULL), -EPIPE);
    CHECK_EQ(cio_workers_wait(g), 0);
    int64_t took = wn_now_ms() - t0;
    printf("stop took %lld ms\n", (long long)took);
    CHECK(took < 5000);
    CHECK_EQ(cio_remote_status(slow), -EBUSY); /* not joined yet */
    CHECK_EQ(cio_remote_join(slow, 0), 0);
    CHECK_EQ(cio_remote_status(slow), -ECANCELED);
    CHECK_EQ((intptr_t)cio_remote_result(slow), -ECANCELED);
    cio_remote_free(slow);
    cio_remote_free(never_joined);
    cio_workers_free(g);
    test_pinned();
    puts("ok");
    return 0;
}
