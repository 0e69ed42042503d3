/* Posts from other threads: many threads posting, nothing lost, FIFO per
 * thread, posts keep a running loop alive, and the loop may be freed as
 * soon as the last post has run.
 * CIO_TEST_ALL_BACKENDS */
#include <corio/loop.h>
#include <pthread.h>

#include "check.h"

enum { THREADS = 8, PER_THREAD = 20000 };

typedef struct ctx {
    cio_loop_t *loop;   /* the loop posted to */
    long received;      /* posts run so far */
    long next[THREADS]; /* next sequence number expected per thread */
    long errors;        /* out-of-order posts */
} ctx_t;

static ctx_t ctx;

typedef struct msg {
    int thread; /* poster */
    long seq;   /* its order */
} msg_t;

static msg_t msgs[THREADS][PER_THREAD];

static void on_post(cio_loop_t *loop, void *data)
{
    msg_t *m = data;
    CHECK(loop == ctx.loop);
    if (ctx.next[m->thread] != m->seq)
        ctx.errors++;
    ctx.next[m->thread] = m->seq + 1;
    if (++ctx.received == (long)THREADS * PER_THREAD)
        cio_loop_unref(loop); /* everything arrived: let run() return */
}

static void *poster(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (long i = 0; i < PER_THREAD; i++) {
        msgs[id][i].thread = id;
        msgs[id][i].seq = i;
        CHECK_EQ(cio_loop_post(ctx.loop, on_post, &msgs[id][i]), 0);
    }
    return NULL;
}

static void test_many_threads(void)
{
    CHECK_EQ(cio_loop_new(&ctx.loop, NULL), 0);
    cio_loop_ref(ctx.loop); /* the posters are not known to the loop */
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, poster, (void *)(intptr_t)i), 0);
    CHECK_EQ(cio_loop_run(ctx.loop, CIO_RUN_DEFAULT), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(ctx.received, (long)THREADS * PER_THREAD);
    CHECK_EQ(ctx.errors, 0);
    CHECK_EQ(cio_loop_run(ctx.loop, CIO_RUN_NOWAIT), 0);
    cio_loop_free(ctx.loop);
}

/* A post made before run keeps DEFAULT running until it has run; a post
 * from inside a post runs on a later iteration. */
static int chain_left;

static void chain(cio_loop_t *loop, void *data)
{
    if (--chain_left > 0)
        CHECK_EQ(cio_loop_post(loop, chain, NULL), 0);
}

static void test_keeps_alive(void)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, NULL), 0);
    chain_left = 100;
    CHECK_EQ(cio_loop_post(loop, chain, NULL), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(chain_left, 99);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(chain_left, 0);
    /* Discarded posts on free are not run (and not leaked). */
    CHECK_EQ(cio_loop_post(loop, chain, NULL), 0);
    cio_loop_free(loop);
    CHECK_EQ(chain_left, 0);
}

/* A worker posts its result and the loop is freed right after running it:
 * the poster must not touch the loop once the post is taken. */
typedef struct job {
    cio_loop_t *loop; /* where to post the result */
    int done;         /* set by the result callback */
} job_t;

static void job_done(cio_loop_t *loop, void *data)
{
    job_t *job = data;
    job->done = 1;
    cio_loop_unref(loop);
}

static void *worker(void *arg)
{
    job_t *job = arg;
    CHECK_EQ(cio_loop_post(job->loop, job_done, job), 0);
    return NULL;
}

static void test_free_after_post(void)
{
    for (int round = 0; round < 200; round++) {
        job_t job = {NULL, 0};
        CHECK_EQ(cio_loop_new(&job.loop, NULL), 0);
        cio_loop_ref(job.loop);
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, worker, &job), 0);
        CHECK_EQ(cio_loop_run(job.loop, CIO_RUN_DEFAULT), 0);
        CHECK_EQ(job.done, 1);
        cio_loop_free(job.loop);
        pthread_join(th, NULL);
    }
}

int main(void)
{
    test_many_threads();
    test_keeps_alive();
    test_free_after_post();
    printf("ok\n");
    return 0;
}
