/* Process mode: workers forked after listening serve clients; one killed
 * with SIGKILL is restarted and service goes on; SIGTERM stops them all.
 * CIO_TEST_TIMEOUT=60 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "check.h"
#include "corio.h"
#include "workers_net.h"

#define PROCS 2

/* Greets with "pid index\n", then echoes. The greeting needs the offload
 * pool, which the parent used before forking: the child's must work. */
static void greet_echo(int fd, const struct sockaddr *peer, socklen_t peer_len,
                       void *data)
{
    (void)data;
    char buf[512];
    struct stat st;
    if (cio_file_stat("/", &st, -1) < 0) {
        cio_fd_close(fd);
        return;
    }
    int n = snprintf(buf, sizeof(buf), "%d %d\n", (int)getpid(),
                     cio_workers_index());
    if (cio_fd_write_all(fd, buf, (size_t)n, cio_deadline_in(10000)) < 0) {
        cio_fd_close(fd);
        return;
    }
    for (;;) {
        ssize_t r = cio_fd_read(fd, buf, sizeof(buf), cio_deadline_in(10000));
        if (r <= 0)
            break;
        if (cio_fd_write_all(fd, buf, (size_t)r, cio_deadline_in(10000)) < 0)
            break;
    }
    cio_fd_close(fd);
}

static void *serve(void *arg)
{
    (void)arg;
    cio_workers_serve(greet_echo, NULL, 0);
    return NULL;
}

/* One connection: reads the greeting, checks one echo; returns the pid of
 * the worker that served it, or -1. */
static int max_index = PROCS; /* workers in the group being tested */
static int last_index;        /* index of the worker that served last */

static int one_client(int port, int seq)
{
    int fd = wn_connect(port, 10);
    if (fd < 0)
        return -1;
    char line[64];
    int pid = -1, index = -1;
    if (wn_read_line(fd, line, sizeof(line)) < 0 ||
        sscanf(line, "%d %d", &pid, &index) != 2 || index < 0 ||
        index >= max_index) {
        close(fd);
        return -1;
    }
    char msg[32], back[32];
    int len = snprintf(msg, sizeof(msg), "message %d", seq);
    if (wn_write_all(fd, msg, (size_t)len) < 0 ||
        wn_read_full(fd, back, (size_t)len) != len ||
        memcmp(msg, back, (size_t)len) != 0)
        pid = -1;
    close(fd);
    last_index = index;
    return pid;
}

/* Processes with two worker threads each: indexes run over all of them. */
static void test_threads_per_process(void)
{
    cio_workers_t *g;
    cio_workers_opts_t o = {.processes = 2, .threads = 2, .stop_grace_ms = 300};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_count(g), 4);
    int port = cio_workers_listen(g, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    CHECK_EQ(cio_workers_start(g, serve, NULL), 0);
    max_index = 4;
    int seen = 0;
    for (int i = 0; i < 40; i++) {
        int pid = one_client(port, i);
        pid_t p0, p1, owner;
        CHECK_EQ(cio_workers_pid(g, &p0, 0), 0);
        CHECK_EQ(cio_workers_pid(g, &p1, 1), 0);
        CHECK(pid == p0 || pid == p1);
        /* Workers 0-1 live in process 0, 2-3 in process 1. */
        CHECK_EQ(cio_workers_pid(g, &owner, (unsigned)last_index / 2), 0);
        CHECK_EQ(pid, owner);
        seen |= 1 << last_index;
    }
    printf("2 processes x 2 threads: workers seen 0x%x\n", seen);
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    CHECK_EQ(cio_workers_signal(g), 0);
    cio_workers_free(g);
}

static void *use_offload(void *arg)
{
    (void)arg;
    struct stat st;
    CHECK_EQ(cio_file_stat("/", &st, -1), 0);
    return NULL;
}

int main(void)
{
    /* Start the parent's offload threads, as a program that did some work
     * before forking its workers would. */
    CHECK_EQ(cio_hub_run(NULL, use_offload, NULL), 0);
    cio_workers_t *g;
    cio_workers_opts_t o = {
        .processes = PROCS, .catch_signals = true, .stop_grace_ms = 500};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    CHECK_EQ(cio_workers_count(g), PROCS);
    int port = cio_workers_listen(g, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    CHECK_EQ(cio_workers_start(g, serve, NULL), 0);
    pid_t pids[PROCS];
    for (unsigned i = 0; i < PROCS; i++) {
        CHECK_EQ(cio_workers_pid(g, &pids[i], i), 0);
        CHECK(pids[i] > 0 && pids[i] != getpid());
    }
    pid_t none;
    CHECK_EQ(cio_workers_pid(g, &none, PROCS), -EINVAL);
    CHECK_EQ(cio_workers_pid(g, NULL, 0), -EINVAL);
    CHECK_EQ(cio_workers_spawn(g, NULL, 0, NULL, NULL), -ENOTSUP);

    for (int i = 0; i < 20; i++) {
        int pid = one_client(port, i);
        CHECK(pid == pids[0] || pid == pids[1]);
    }

    /* Kill worker 0 outright; the supervisor forks a new one. */
    CHECK_EQ(kill(pids[0], SIGKILL), 0);
    int64_t until = wn_now_ms() + 10000;
    pid_t fresh = 0;
    while (wn_now_ms() < until) {
        CHECK_EQ(cio_workers_pid(g, &fresh, 0), 0);
        if (fresh > 0 && fresh != pids[0])
            break;
        wn_sleep_ms(10);
    }
    printf("worker 0: pid %d killed, restarted as %d\n", (int)pids[0],
           (int)fresh);
    CHECK(fresh > 0 && fresh != pids[0]);
    CHECK_EQ(cio_workers_restarts(g), 1);
    pid_t p1;
    CHECK_EQ(cio_workers_pid(g, &p1, 1), 0);
    CHECK_EQ(p1, pids[1]);

    /* Every connection is served, by the new worker or the other. */
    int by_fresh = 0;
    for (int i = 0; i < 40; i++) {
        int pid = one_client(port, 100 + i);
        CHECK(pid == fresh || pid == pids[1]);
        by_fresh += pid == fresh;
    }
    printf("after the restart, %d of 40 served by the new worker\n", by_fresh);

    /* SIGTERM to the parent stops every worker process. */
    int64_t t0 = wn_now_ms();
    CHECK_EQ(kill(getpid(), SIGTERM), 0);
    CHECK_EQ(cio_workers_wait(g), 0);
    CHECK_EQ(cio_workers_signal(g), SIGTERM);
    CHECK(wn_now_ms() - t0 < 10000);
    CHECK(kill(fresh, 0) < 0 && errno == ESRCH);
    CHECK(kill(pids[1], 0) < 0 && errno == ESRCH);
    CHECK_EQ(cio_workers_restarts(g), 1);
    cio_workers_free(g);
    CHECK(one_client(port, 0) < 0);
    test_threads_per_process();
    puts("ok");
    return 0;
}
