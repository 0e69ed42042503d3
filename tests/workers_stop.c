/* Shutdown: SIGTERM is caught once and stops every worker while clients
 * still hold connections open (they see the end), within the grace time,
 * and a new connection is refused once it has stopped;
 * a worker whose task ignores the stop is killed after the grace.
 * CIO_TEST_TIMEOUT=60 CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "corio.h"
#include "workers_net.h"

#define WORKERS 2
#define OPEN_CONNS 6

static atomic_int handlers_running;
static atomic_int stops_seen;

static void echo_conn(int fd, const struct sockaddr *peer, socklen_t peer_len,
                      void *data)
{
    (void)data;
    atomic_fetch_add(&handlers_running, 1);
    char buf[512];
    for (;;) {
        ssize_t n = cio_fd_read(fd, buf, sizeof(buf), -1);
        if (n <= 0)
            break;
        if (cio_fd_write_all(fd, buf, (size_t)n, -1) < 0)
            break;
    }
    atomic_fetch_sub(&handlers_running, 1);
    cio_fd_close(fd);
}

/* A task besides the server that watches for the stop. */
static void *watcher(void *arg)
{
    (void)arg;
    if (cio_workers_wait_stop(-1) == 0 && cio_workers_stopping())
        atomic_fetch_add(&stops_seen, 1);
    return NULL;
}

static void *serve(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_task_spawn(NULL, watcher, NULL), 0);
    CHECK_EQ(cio_workers_serve(echo_conn, NULL, 0), 0);
    return NULL;
}

static void test_signal_with_open_connections(void)
{
    cio_workers_t *g;
    cio_workers_opts_t o = {
        .threads = WORKERS, .catch_signals = true, .stop_grace_ms = 300};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    int port = cio_workers_listen(g, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    CHECK_EQ(cio_workers_start(g, serve, NULL), 0);

    int fds[OPEN_CONNS];
    for (int i = 0; i < OPEN_CONNS; i++) {
        fds[i] = wn_connect(port, 10);
        CHECK(fds[i] >= 0);
        char msg[16], back[16];
        int len = snprintf(msg, sizeof(msg), "hello %d", i);
        CHECK_EQ(wn_write_all(fds[i], msg, (size_t)len), 0);
        CHECK_EQ(wn_read_full(fds[i], back, (size_t)len), len);
        CHECK(memcmp(msg, back, (size_t)len) == 0);
    }
    CHECK_EQ(atomic_load(&handlers_running), OPEN_CONNS);

    /* The signal goes to the process; only the group's thread takes it. */
    int64_t t0 = wn_now_ms();
    CHECK_EQ(kill(getpid(), SIGTERM), 0);
    CHECK_EQ(cio_workers_wait(g), 0);
    int64_t took = wn_now_ms() - t0;
    printf("stopped by signal %d in %lld ms\n", cio_workers_signal(g),
           (long long)took);
    CHECK_EQ(cio_workers_signal(g), SIGTERM);
    CHECK(took < 5000);
    CHECK_EQ(atomic_load(&handlers_running), 0);
    CHECK_EQ(atomic_load(&stops_seen), WORKERS);

    /* Every client sees its connection end. */
    for (int i = 0; i < OPEN_CONNS; i++) {
        char c;
        ssize_t n = read(fds[i], &c, 1);
        CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
        close(fds[i]);
    }
    /* The group stopped listening with the stop, before it is freed: a new
     * connection is refused, not left waiting in a backlog. */
    CHECK_EQ(wn_connect(port, 2), -ECONNREFUSED);
    /* The mask of this thread is back as it was. */
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    CHECK(!sigismember(&now, SIGTERM));
    CHECK(!sigismember(&now, SIGINT));
    cio_workers_free(g);
}

/* Waits (at most 10 s) until *n reaches want. */
static void wait_count(atomic_int *n, int want)
{
    int64_t end = wn_now_ms() + 10000;
    while (atomic_load(n) < want) {
        CHECK(wn_now_ms() < end);
        wn_sleep_ms(1);
    }
}

static atomic_int stubborn_asleep, stubborn_killed;

/* A main task that ignores the stop: killed once the grace has passed. */
static void *stubborn(void *arg)
{
    (void)arg;
    atomic_fetch_add(&stubborn_asleep, 1);
    int r = cio_task_sleep(60000);
    CHECK_EQ(r, -ECANCELED);
    atomic_fetch_add(&stubborn_killed, 1);
    return NULL;
}

static void test_grace_kill(void)
{
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = WORKERS, .stop_grace_ms = 100};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_start(g, stubborn, NULL), 0);
    wait_count(&stubborn_asleep, WORKERS);
    int64_t t0 = wn_now_ms();
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    int64_t took = wn_now_ms() - t0;
    printf("stubborn workers killed after %lld ms\n", (long long)took);
    CHECK(took >= 90 && took < 5000);
    CHECK_EQ(atomic_load(&stubborn_killed), WORKERS);
    CHECK_EQ(cio_workers_signal(g), 0);
    cio_workers_free(g);
}

/* Stop requested before the workers have even run. */
static void test_immediate_stop(void)
{
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = 4};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_start(g, NULL, NULL), 0);
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    CHECK_EQ(cio_workers_wait(g), 0);
    cio_workers_free(g);
    /* A group never started is freed as it is. */
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK(cio_workers_listen(g, "127.0.0.1", 0, 0) > 0);
    cio_workers_free(g);
}

static atomic_int waiting_for_stop;

/* The last worker stops the group from inside, once the others wait. */
static void *stop_from_inside(void *arg)
{
    (void)arg;
    if (cio_workers_index() == 3) {
        int64_t end = cio_deadline_in(10000);
        while (atomic_load(&waiting_for_stop) < 3) {
            CHECK(cio_hub_now() < end);
            CHECK_EQ(cio_task_sleep(1), 0);
        }
        cio_workers_stop(cio_workers_self());
        CHECK_EQ(cio_workers_wait(cio_workers_self()), -EDEADLK);
    } else {
        atomic_fetch_add(&waiting_for_stop, 1);
    }
    CHECK_EQ(cio_workers_wait_stop(cio_deadline_in(10000)), 0);
    return NULL;
}

static void test_stop_from_a_worker(void)
{
    cio_workers_t *g;
    cio_workers_opts_t o = {.threads = 4};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_start(g, stop_from_inside, NULL), 0);
    CHECK_EQ(cio_workers_wait(g), 0);
    cio_workers_free(g);
}

int main(void)
{
    test_signal_with_open_connections();
    test_grace_kill();
    test_immediate_stop();
    test_stop_from_a_worker();
    puts("ok");
    return 0;
}
