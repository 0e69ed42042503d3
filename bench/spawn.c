/* spawn+join cost: cio_task_spawn then cio_task_join of a task that returns at
 * once, next to the thread-based equivalent (pthread_create + pthread_join) in
 * the same run. Prints:
 *
 *   RESULT bench=spawn impl=hub n=N ns_per_op=X
 *   RESULT bench=spawn impl=pthread n=N ns_per_op=X
 *
 *   bench_spawn [-n TASKS] [-t THREADS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "corio.h"
#include "common/cli.h"

static long n_tasks = 200000, n_threads = 5000;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *nothing(void *arg)
{
    return arg;
}

static void *hub_main(void *arg)
{
    double *ns = arg;
    /* one warm-up round fills the coroutine pool */
    for (int round = 0; round < 2; round++) {
        double start = now_ns();
        for (long i = 0; i < n_tasks; i++) {
            cio_task_t *t;
            if (cio_task_spawn(&t, nothing, NULL) < 0 ||
                cio_task_join(t, -1) < 0)
                return (void *)1;
            cio_task_free(t);
        }
        *ns = (now_ns() - start) / (double)n_tasks;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_spawn", "[-n TASKS] [-t THREADS]",
              "Spawn and join of tasks against pthreads. Ends with RESULT "
              "lines.\n  --help, --version\n");
    int opt;
    while ((opt = getopt(argc, argv, "n:t:")) != -1) {
        if (opt == 'n')
            n_tasks = atol(optarg);
        else if (opt == 't')
            n_threads = atol(optarg);
        else {
            fprintf(stderr, "usage: %s [-n TASKS] [-t THREADS]\n", argv[0]);
            return 2;
        }
    }
    if (n_tasks <= 0 || n_threads <= 0)
        return 2;
    double hub_ns = 0;
    void *res = NULL;
    if (cio_hub_run(&res, hub_main, &hub_ns) < 0 || res) {
        fprintf(stderr, "bench_spawn: hub run failed\n");
        return 1;
    }
    double start = now_ns();
    for (long i = 0; i < n_threads; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, nothing, NULL) != 0 ||
            pthread_join(th, NULL) != 0) {
            fprintf(stderr, "bench_spawn: pthread failed\n");
            return 1;
        }
    }
    double th_ns = (now_ns() - start) / (double)n_threads;
    printf("RESULT bench=spawn impl=hub n=%ld ns_per_op=%.0f\n", n_tasks,
           hub_ns);
    printf("RESULT bench=spawn impl=pthread n=%ld ns_per_op=%.0f\n", n_threads,
           th_ns);
    return 0;
}
