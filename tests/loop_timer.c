/* Timers: order by deadline, FIFO among equal deadlines, accuracy,
 * repeating timers, stop and restart from callbacks, absolute deadlines.
 * CIO_TEST_ALL_BACKENDS */
#include <corio/loop.h>
#include <errno.h>
#include <time.h>

#include "check.h"

static int order[64];
static int order_len;

static void record(cio_timer_t *t)
{
    order[order_len++] = (int)(intptr_t)cio_timer_data(t);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_order(cio_loop_t *loop)
{
    /* Deadlines 30, 10, 20, then five timers at 5 ms started in order. */
    cio_timer_t *t[8];
    int64_t delays[8] = {30, 10, 20, 5, 5, 5, 5, 5};
    order_len = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(cio_timer_new(&t[i], loop, record, (void *)(intptr_t)i), 0);
        CHECK_EQ(cio_timer_start(t[i], delays[i], 0), 0);
        CHECK(cio_timer_active(t[i]));
    }
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    int want[8] = {3, 4, 5, 6, 7, 1, 2, 0};
    CHECK_EQ(order_len, 8);
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(order[i], want[i]);
        CHECK(!cio_timer_active(t[i]));
        cio_timer_free(t[i]);
    }
}

static void test_fifo_many(cio_loop_t *loop)
{
    /* 50 timers with the same absolute deadline fire in start order. */
    cio_timer_t *t[50];
    int64_t at = cio_loop_now(loop) + 15;
    for (int i = 0; i < 50; i++) {
        CHECK_EQ(cio_timer_new(&t[i], loop, record, (void *)(intptr_t)(i % 64)),
                 0);
        CHECK_EQ(cio_timer_start_at(t[i], at), 0);
    }
    /* Stop a few in the middle: the others keep their order. */
    cio_timer_stop(t[10]);
    cio_timer_stop(t[33]);
    cio_timer_stop(t[10]); /* harmless twice */
    order_len = 0;
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(order_len, 48);
    int prev = -1;
    for (int i = 0; i < order_len; i++) {
        CHECK(order[i] > prev);
        CHECK(order[i] != 10 && order[i] != 33);
        prev = order[i];
    }
    for (int i = 0; i < 50; i++)
        cio_timer_free(t[i]);
}

static void test_accuracy(cio_loop_t *loop)
{
    cio_timer_t *t;
    order_len = 0;
    CHECK_EQ(cio_timer_new(&t, loop, record, NULL), 0);
    cio_loop_update_time(loop);
    int64_t start = mono_ms();
    CHECK_EQ(cio_timer_start(t, 100, 0), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    int64_t elapsed = mono_ms() - start;
    CHECK_EQ(order_len, 1);
    CHECK(elapsed >= 99);  /* never early (ms rounding of the start) */
    CHECK(elapsed < 2000); /* generous: the machine is shared */
    CHECK(cio_loop_now(loop) - start >= 99);
    cio_timer_free(t);
}

typedef struct repeat_ctx {
    int fired;     /* callbacks so far */
    int limit;     /* stop after this many */
    int64_t first; /* time of the first callback */
    int64_t last;  /* time of the last callback */
} repeat_ctx_t;

static void repeat_cb(cio_timer_t *t)
{
    repeat_ctx_t *ctx = cio_timer_data(t);
    int64_t now = mono_ms();
    if (ctx->fired++ == 0)
        ctx->first = now;
    ctx->last = now;
    CHECK(cio_timer_active(t)); /* a repeating timer stays active */
    if (ctx->fired == ctx->limit)
        cio_timer_stop(t);
}

static void test_repeat(cio_loop_t *loop)
{
    cio_timer_t *t;
    repeat_ctx_t ctx = {0, 10, 0, 0};
    CHECK_EQ(cio_timer_new(&t, loop, repeat_cb, &ctx), 0);
    CHECK_EQ(cio_timer_start(t, 5, 20), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(ctx.fired, 10);
    CHECK(!cio_timer_active(t));
    /* later firings keep to the schedule, so a first one that a busy host
     * delayed shortens the span by up to a period */
    CHECK(ctx.last - ctx.first >= 8 * 20);
    CHECK(ctx.last - ctx.first < 5000);
    cio_timer_free(t);
}

/* A timer that restarts itself with 0 must not starve the loop: each
 * restart waits for the next iteration. */
static cio_loop_t *the_loop;

static void restart_zero_cb(cio_timer_t *t)
{
    int *left = cio_timer_data(t);
    if (--*left > 0)
        CHECK_EQ(cio_timer_start(t, 0, 0), 0);
}

static void test_restart_in_callback(cio_loop_t *loop)
{
    cio_timer_t *t;
    int left = 100;
    the_loop = loop;
    CHECK_EQ(cio_timer_new(&t, loop, restart_zero_cb, &left), 0);
    CHECK_EQ(cio_timer_start(t, 0, 0), 0);
    int iterations = 0;
    while (cio_loop_run(loop, CIO_RUN_NOWAIT) == 1)
        iterations++;
    CHECK_EQ(left, 0);
    CHECK(iterations >= 98); /* one firing per iteration */
    cio_timer_free(t);
}

/* A callback stops another timer due in the same phase: it never fires. */
static cio_timer_t *victim;
static int victim_fired;

static void victim_cb(cio_timer_t *t)
{
    victim_fired++;
}

static void killer_cb(cio_timer_t *t)
{
    cio_timer_stop(victim);
}

static void test_stop_other(cio_loop_t *loop)
{
    cio_timer_t *killer;
    CHECK_EQ(cio_timer_new(&killer, loop, killer_cb, NULL), 0);
    CHECK_EQ(cio_timer_new(&victim, loop, victim_cb, NULL), 0);
    int64_t at = cio_loop_now(loop) + 10;
    CHECK_EQ(cio_timer_start_at(killer, at), 0);
    CHECK_EQ(cio_timer_start_at(victim, at), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(victim_fired, 0);
    cio_timer_free(killer);
    cio_timer_free(victim);
}

/* A past absolute deadline fires on the next iteration; run modes return
 * 1 while timers remain and 0 once none is left. */
static void test_modes(cio_loop_t *loop)
{
    cio_timer_t *a, *b;
    order_len = 0;
    CHECK_EQ(cio_timer_new(&a, loop, record, (void *)1), 0);
    CHECK_EQ(cio_timer_new(&b, loop, record, (void *)2), 0);
    /* b must not be due by the NOWAIT run below, even on a loaded machine
     * where the cached clock is stale by tens of milliseconds. */
    cio_loop_update_time(loop);
    CHECK_EQ(cio_timer_start_at(a, cio_loop_now(loop) - 100), 0);
    CHECK_EQ(cio_timer_start(b, 300, 0), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(order_len, 1);
    CHECK_EQ(order[0], 1);
    int64_t start = mono_ms();
    int rc;
    while ((rc = cio_loop_run(loop, CIO_RUN_ONCE)) == 1)
        CHECK(mono_ms() - start < 5000);
    CHECK_EQ(rc, 0);
    CHECK_EQ(order_len, 2);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 0); /* nothing: no block */
    cio_timer_free(a);
    cio_timer_free(b);
}

/* Restarting an active timer moves it; a restarted timer gets a new place
 * among equal deadlines. */
static void test_restart_moves(cio_loop_t *loop)
{
    cio_timer_t *a, *b;
    order_len = 0;
    CHECK_EQ(cio_timer_new(&a, loop, record, (void *)1), 0);
    CHECK_EQ(cio_timer_new(&b, loop, record, (void *)2), 0);
    int64_t at = cio_loop_now(loop) + 10;
    CHECK_EQ(cio_timer_start_at(a, at), 0);
    CHECK_EQ(cio_timer_start_at(b, at), 0);
    CHECK_EQ(cio_timer_start_at(a, at), 0); /* now after b */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(order_len, 2);
    CHECK_EQ(order[0], 2);
    CHECK_EQ(order[1], 1);
    cio_timer_free(a);
    cio_timer_free(b);
}

/* Opaque timers: bad arguments, a data pointer, freeing an active timer
 * and freeing a timer from its own callback. */
static void free_self(cio_timer_t *t)
{
    int *fired = cio_timer_data(t);
    ++*fired;
    cio_timer_free(t);
}

static void test_new_free(cio_loop_t *loop)
{
    cio_timer_t *t;
    CHECK_EQ(cio_timer_new(NULL, loop, record, NULL), -EINVAL);
    CHECK_EQ(cio_timer_new(&t, NULL, record, NULL), -EINVAL);
    CHECK_EQ(cio_timer_new(&t, loop, NULL, NULL), -EINVAL);
    CHECK_EQ(cio_timer_start(NULL, 1, 0), -EINVAL);
    int fired = 0;
    CHECK_EQ(cio_timer_new(&t, loop, free_self, NULL), 0);
    CHECK(cio_timer_data(t) == NULL);
    cio_timer_set_data(t, &fired);
    CHECK(cio_timer_data(t) == &fired);
    CHECK_EQ(cio_timer_start(t, 1, 5), 0); /* repeating, freed at once */
    cio_timer_t *dropped;
    CHECK_EQ(cio_timer_new(&dropped, loop, record, NULL), 0);
    CHECK_EQ(cio_timer_start(dropped, 1, 0), 0);
    cio_timer_free(dropped); /* active: stopped, never fires */
    order_len = 0;
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(fired, 1);
    CHECK_EQ(order_len, 0);
    cio_timer_free(NULL);
}

int main(void)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, NULL), 0);
    const char *want = getenv("CIO_BACKEND");
    CHECK_STREQ(cio_loop_backend(loop), want ? want : "epoll");
    test_order(loop);
    test_fifo_many(loop);
    test_accuracy(loop);
    test_repeat(loop);
    test_restart_in_callback(loop);
    test_stop_other(loop);
    test_modes(loop);
    test_restart_moves(loop);
    test_new_free(loop);
    cio_loop_free(loop);
    printf("ok\n");
    return 0;
}
