/* Queue ping-pong: two tasks pass a token back and forth through two
 * cio_queue_t of capacity 1; the baseline does the same with two threads
 * and a mutex+condvar queue. One round trip = two puts and two gets.
 *
 *   RESULT bench=queue impl=hub n=N ns_per_roundtrip=X
 *   RESULT bench=queue impl=pthread n=N ns_per_roundtrip=X
 *
 *   bench_queue [-n ROUNDTRIPS] [-t THREAD_ROUNDTRIPS] */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "corio.h"
#include "common/cli.h"

static long n_hub = 2000000, n_threads = 100000;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- the hub version ---- */

static cio_queue_t *ping, *pong;

static void *ponger(void *arg)
{
    (void)arg;
    void *token;
    while (cio_queue_get(ping, &token, -1) == 0)
        if (cio_queue_put(pong, token, -1) < 0)
            break;
    return NULL;
}

static void *hub_main(void *arg)
{
    double *ns = arg;
    cio_task_t *t;
    if (cio_queue_new(&ping, 1) < 0 || cio_queue_new(&pong, 1) < 0 ||
        cio_task_spawn(&t, ponger, NULL) < 0)
        return (void *)1;
    double start = now_ns();
    for (intptr_t i = 0; i < n_hub; i++) {
        void *token;
        if (cio_queue_put(ping, (void *)i, -1) < 0 ||
            cio_queue_get(pong, &token, -1) < 0 || (intptr_t)token != i)
            return (void *)1;
    }
    *ns = (now_ns() - start) / (double)n_hub;
    cio_queue_close(ping);
    cio_task_join(t, -1);
    cio_task_free(t);
    cio_queue_free(ping);
    cio_queue_free(pong);
    return NULL;
}

/* ---- the thread version: a one-slot mailbox each way ---- */

struct mailbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool full;  /* a token waits in it */
    long token; /* the token */
};

static struct mailbox m_ping = {PTHREAD_MUTEX_INITIALIZER,
                                PTHREAD_COND_INITIALIZER, false, 0};
static struct mailbox m_pong = {PTHREAD_MUTEX_INITIALIZER,
                                PTHREAD_COND_INITIALIZER, false, 0};

static void mb_put(struct mailbox *m, long token)
{
    pthread_mutex_lock(&m->mu);
    while (m->full)
        pthread_cond_wait(&m->cv, &m->mu);
    m->full = true;
    m->token = token;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static long mb_get(struct mailbox *m)
{
    pthread_mutex_lock(&m->mu);
    while (!m->full)
        pthread_cond_wait(&m->cv, &m->mu);
    m->full = false;
    long token = m->token;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    return token;
}

static void *thread_ponger(void *arg)
{
    (void)arg;
    for (long i = 0; i < n_threads; i++)
        mb_put(&m_pong, mb_get(&m_ping));
    return NULL;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_queue",
              "[-n ROUNDTRIPS] [-t THREAD_ROUNDTRIPS]",
              "Round trips through a hub queue against a pthread queue.\nEnds "
              "with RESULT lines.\n  --help, --version\n");
    int opt;
    while ((opt = getopt(argc, argv, "n:t:")) != -1) {
        if (opt == 'n')
            n_hub = atol(optarg);
        else if (opt == 't')
            n_threads = atol(optarg);
        else {
            fprintf(stderr, "usage: %s [-n ROUNDTRIPS] [-t ROUNDTRIPS]\n",
                    argv[0]);
            return 2;
        }
    }
    if (n_hub <= 0 || n_threads <= 0)
        return 2;
    double hub_ns = 0;
    void *res = NULL;
    if (cio_hub_run(&res, hub_main, &hub_ns) < 0 || res) {
        fprintf(stderr, "bench_queue: hub run failed\n");
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, thread_ponger, NULL);
    double start = now_ns();
    for (long i = 0; i < n_threads; i++)
        if (mb_get((mb_put(&m_ping, i), &m_pong)) != i)
            return 1;
    double th_ns = (now_ns() - start) / (double)n_threads;
    pthread_join(th, NULL);
    printf("RESULT bench=queue impl=hub n=%ld ns_per_roundtrip=%.0f\n", n_hub,
           hub_ns);
    printf("RESULT bench=queue impl=pthread n=%ld ns_per_roundtrip=%.0f\n",
           n_threads, th_ns);
    return 0;
}
