/* The io_uring backend: level-triggered reports from one-shot polls,
 * interest changes, a loop created on one thread and run on another, and
 * the fallback to epoll (one log line) when io_uring is unavailable,
 * simulated with CIO_URING_DISABLE=1.
 * `loop_uring --probe` exits 0 when the backend runs here, 77 when not
 * (tests/run.sh asks it before running tests on uring). */
#include <corio.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

static int uring_here(void)
{
    cio_loop_t *loop;
    if (cio_loop_new(&loop, "uring") < 0)
        return 0;
    int ok = strcmp(cio_loop_backend(loop), "uring") == 0;
    cio_loop_free(loop);
    return ok;
}

typedef struct hit {
    int calls, events, fd, eat; /* eat: bytes each callback reads */
} hit_t;

static void on_io(cio_loop_t *loop, int fd, int events, void *data)
{
    (void)loop;
    hit_t *h = data;
    h->calls++;
    h->events = events;
    h->fd = fd;
    char c;
    for (int i = 0; i < h->eat; i++)
        CHECK_EQ(read(fd, &c, 1), 1);
}

/* A uring loop watching sv[0] (a new socket pair) for reading. */
static cio_loop_t *watched_pair(int sv[2], hit_t *h)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, "uring"), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_READABLE, on_io, h), 0);
    return loop;
}

/* Two bytes, one read per report: the second report comes without new
 * data (a level, not an edge); interest changes take effect at once. */
static void test_level(void)
{
    int sv[2];
    hit_t h = {.eat = 1};
    cio_loop_t *loop = watched_pair(sv, &h);
    CHECK_EQ(write(sv[1], "ab", 2), 2);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 1);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 2);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.calls, 2); /* drained: nothing more */
    h.eat = 0;
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 3);
    CHECK_EQ(h.events, CIO_WRITABLE);
    CHECK_EQ(cio_loop_modify(loop, sv[0], 0), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(h.calls, 3);
    /* Many changes before one poll: only the last counts. */
    CHECK_EQ(write(sv[1], "c", 1), 1);
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_READABLE | CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_READABLE), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 4);
    CHECK_EQ(h.events, CIO_READABLE);
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    cio_loop_free(loop);
}

static void *run_loop(void *arg)
{
    cio_loop_t *loop = arg;
    return (void *)(intptr_t)cio_loop_run(loop, CIO_RUN_ONCE);
}

/* The ring is owned by the thread that first runs the loop. */
static void test_other_thread(void)
{
    int sv[2];
    hit_t h = {.eat = 1};
    cio_loop_t *loop = watched_pair(sv, &h);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    pthread_t th;
    void *rc;
    CHECK_EQ(pthread_create(&th, NULL, run_loop, loop), 0);
    CHECK_EQ(pthread_join(th, &rc), 0);
    CHECK_EQ((intptr_t)rc, 1);
    CHECK_EQ(h.calls, 1);
    cio_loop_unregister(loop, sv[0]);
    close(sv[0]);
    close(sv[1]);
    cio_loop_free(loop);
}

static void *echo_once(void *arg)
{
    int *sv = arg;
    char buf[8];
    ssize_t n = cio_fd_read(sv[0], buf, sizeof buf, cio_deadline_in(2000));
    CHECK_EQ(n, 4);
    CHECK_EQ(cio_fd_write_all(sv[0], buf, 4, -1), 4);
    return NULL;
}

/* In a child whose stderr is a pipe: io_uring "missing", two loops and a
 * hub asked for uring run on epoll; exactly one line says so. */
static void test_fallback(void)
{
    int pfd[2];
    CHECK_EQ(pipe(pfd), 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 2);
        close(pfd[0]);
        setenv("CIO_URING_DISABLE", "1", 1);
        for (int i = 0; i < 2; i++) {
            cio_loop_t *loop;
            CHECK_EQ(cio_loop_new(&loop, "uring"), 0);
            CHECK_STREQ(cio_loop_backend(loop), "epoll");
            cio_loop_free(loop);
        }
        int sv[2];
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        CHECK_EQ(write(sv[1], "ping", 4), 4);
        cio_hub_opts_t opts = {.backend = "uring"};
        CHECK_EQ(cio_hub_run_ex(&opts, NULL, echo_once, sv), 0);
        char buf[8];
        CHECK_EQ(read(sv[1], buf, sizeof buf), 4);
        _exit(0);
    }
    close(pfd[1]);
    char text[512];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof text - 1 &&
           (r = read(pfd[0], text + len, sizeof text - 1 - len)) > 0)
        len += (size_t)r;
    text[len] = '\0';
    close(pfd[0]);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "child failed: %s", text);
        exit(1);
    }
    CHECK_STREQ(text, "corio: io_uring unavailable (Function not "
                      "implemented); using epoll\n");
}

int main(int argc, char **argv)
{
    int here = uring_here();
    if (argc > 1 && strcmp(argv[1], "--probe") == 0)
        return here ? 0 : 77;
    test_fallback(); /* whatever the kernel offers */
    if (!here) {
        printf("SKIP: io_uring is not available here\n");
        return 77;
    }
    test_level();
    test_other_thread();
    printf("ok\n");
    return 0;
}
