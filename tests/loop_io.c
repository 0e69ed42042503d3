/* IO watchers: readiness, modify, idle registrations, unregister and
 * re-register inside callbacks (no stale event reaches a freed or reused
 * registration), errors, run modes and stop.
 * CIO_TEST_ALL_BACKENDS */
#include <corio/loop.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"

static void pair(int sv[2])
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
}

typedef struct hit {
    int calls;  /* callbacks so far */
    int events; /* events of the last one */
    int fd;     /* fd of the last one */
} hit_t;

static void on_io(cio_loop_t *loop, int fd, int events, void *data)
{
    hit_t *h = data;
    h->calls++;
    h->events = events;
    h->fd = fd;
}

static void test_basic(cio_loop_t *loop)
{
    int sv[2];
    pair(sv);
    hit_t h = {0};
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_READABLE, on_io, &h), 0);
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_READABLE, on_io, &h), -EEXIST);
    CHECK_EQ(cio_loop_register(loop, -1, CIO_READABLE, on_io, &h), -EINVAL);
    CHECK_EQ(cio_loop_modify(loop, sv[1], CIO_READABLE), -ENOENT);
    CHECK_EQ(cio_loop_unregister(loop, sv[1]), -ENOENT);
    /* Nothing to read: NOWAIT reports no event but work remains. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.calls, 0);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 1);
    CHECK_EQ(h.fd, sv[0]);
    CHECK_EQ(h.events, CIO_READABLE);
    /* Level-triggered: unread data fires again. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.calls, 2);
    /* Add write interest: both fire together. */
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_READABLE | CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_READABLE | CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.calls, 3);
    CHECK_EQ(h.events, CIO_READABLE | CIO_WRITABLE);
    /* Only write interest: readable data is not reported. */
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_WRITABLE), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.events, CIO_WRITABLE);
    /* Idle: registered with no interest, keeps nothing alive. */
    CHECK_EQ(cio_loop_modify(loop, sv[0], 0), 0);
    int before = h.calls;
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(h.calls, before);
    CHECK_EQ(cio_loop_register(loop, sv[0], 0, on_io, &h), -EEXIST);
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    /* Registered idle from the start, then woken. */
    CHECK_EQ(cio_loop_register(loop, sv[0], 0, on_io, &h), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
    CHECK_EQ(cio_loop_modify(loop, sv[0], CIO_READABLE), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(h.calls, before + 1);
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    close(sv[0]);
    close(sv[1]);
}

/* Several fds fire in one iteration; the first callback to run
 * unregisters and closes all the others and reuses one fd number for a
 * fresh registration. No report of that iteration may reach them. */
enum { NPAIRS = 6 };
static int fds[NPAIRS][2];
static int calls[NPAIRS];
static int fresh_calls;
static int victim_done;

static void fresh_cb(cio_loop_t *loop, int fd, int events, void *data)
{
    fresh_calls++;
}

static void killer_cb(cio_loop_t *loop, int fd, int events, void *data)
{
    int me = (int)(intptr_t)data;
    calls[me]++;
    if (victim_done)
        return;
    victim_done = 1;
    for (int i = 0; i < NPAIRS; i++) {
        if (i == me)
            continue;
        CHECK_EQ(cio_loop_unregister(loop, fds[i][0]), 0);
        close(fds[i][0]);
    }
    /* Reuse a freed fd number for a new, readable registration. */
    int other = me == 0 ? 1 : 0;
    int sv[2];
    pair(sv);
    if (sv[0] != fds[other][0]) {
        CHECK(dup2(sv[0], fds[other][0]) == fds[other][0]);
        close(sv[0]);
    }
    CHECK_EQ(write(sv[1], "y", 1), 1);
    CHECK_EQ(
        cio_loop_register(loop, fds[other][0], CIO_READABLE, fresh_cb, NULL),
        0);
    close(fds[other][1]);
    fds[other][1] = sv[1];
}

static void test_unregister_in_callback(cio_loop_t *loop)
{
    for (int i = 0; i < NPAIRS; i++) {
        pair(fds[i]);
        CHECK_EQ(cio_loop_register(loop, fds[i][0], CIO_READABLE, killer_cb,
                                   (void *)(intptr_t)i),
                 0);
        CHECK_EQ(write(fds[i][1], "x", 1), 1);
    }
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    int total = 0;
    for (int i = 0; i < NPAIRS; i++)
        total += calls[i];
    CHECK_EQ(total, 1);       /* only the first callback ran */
    CHECK_EQ(fresh_calls, 0); /* the stale report did not reach it */
    /* The new registration works on the next iteration. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(fresh_calls, 1);
    for (int i = 0; i < NPAIRS; i++) {
        if (cio_loop_unregister(loop, fds[i][0]) == 0) /* still open */
            close(fds[i][0]);
        close(fds[i][1]);
    }
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 0);
}

/* A peer hang-up is reported with the bits asked, so a reader sees EOF. */
static void test_hangup(cio_loop_t *loop)
{
    int sv[2];
    pair(sv);
    hit_t h = {0};
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_READABLE, on_io, &h), 0);
    close(sv[1]);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, 1);
    CHECK(h.events & CIO_READABLE);
    char c;
    CHECK_EQ(read(sv[0], &c, 1), 0);
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    close(sv[0]);
}

static void stopper(cio_loop_t *loop, int fd, int events, void *data)
{
    hit_t *h = data;
    h->calls++;
    cio_loop_stop(loop);
    /* The loop is not reentrant. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), -EBUSY);
}

static void test_stop(cio_loop_t *loop)
{
    int sv[2];
    pair(sv);
    hit_t h = {0};
    /* Writable at once: DEFAULT would spin forever without the stop. */
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_WRITABLE, stopper, &h), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(h.calls, 1);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(h.calls, 2);
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
}

/* Many fds: the registry grows past its first size and all fire. */
static void test_many(cio_loop_t *loop)
{
    enum { N = 200 };
    int sv[N][2];
    hit_t h = {0};
    for (int i = 0; i < N; i++) {
        pair(sv[i]);
        CHECK_EQ(cio_loop_register(loop, sv[i][0], CIO_READABLE, on_io, &h), 0);
        CHECK_EQ(write(sv[i][1], "z", 1), 1);
    }
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(h.calls, N);
    for (int i = 0; i < N; i++) {
        CHECK_EQ(cio_loop_unregister(loop, sv[i][0]), 0);
        close(sv[i][0]);
        close(sv[i][1]);
    }
}

/* select refuses fds it cannot hold; the others accept them. */
static void test_high_fd(cio_loop_t *loop)
{
    struct rlimit rl;
    CHECK_EQ(getrlimit(RLIMIT_NOFILE, &rl), 0);
    int high = FD_SETSIZE + 10;
    if (rl.rlim_cur <= (rlim_t)high) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int sv[2];
    pair(sv);
    if (dup2(sv[0], high) < 0) {
        printf("no fd %d (limit): high fd case not run\n", high);
        close(sv[0]);
        close(sv[1]);
        return;
    }
    hit_t h = {0};
    int rc = cio_loop_register(loop, high, CIO_READABLE, on_io, &h);
    if (strcmp(cio_loop_backend(loop), "select") == 0) {
        CHECK_EQ(rc, -EINVAL);
        CHECK_EQ(cio_loop_unregister(loop, high), -ENOENT);
        /* An idle registration is refused too: it could be woken later. */
        CHECK_EQ(cio_loop_register(loop, high, 0, on_io, &h), -EINVAL);
    } else {
        CHECK_EQ(rc, 0);
        CHECK_EQ(write(sv[1], "h", 1), 1);
        CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
        CHECK_EQ(h.calls, 1);
        CHECK_EQ(h.fd, high);
        CHECK_EQ(cio_loop_unregister(loop, high), 0);
    }
    close(high);
    close(sv[0]);
    close(sv[1]);
}

/* An fd closed while still registered (a user error): select and poll
 * report it as an error instead of failing the whole wait; epoll drops it
 * silently. Either way the loop keeps working and unregister succeeds. */
static void test_closed_while_registered(cio_loop_t *loop)
{
    int sv[2], other[2];
    pair(sv);
    pair(other);
    hit_t h = {0}, ok = {0};
    CHECK_EQ(cio_loop_register(loop, sv[0], CIO_READABLE, on_io, &h), 0);
    CHECK_EQ(cio_loop_register(loop, other[0], CIO_READABLE, on_io, &ok), 0);
    CHECK_EQ(write(other[1], "k", 1), 1);
    close(sv[0]);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_NOWAIT), 1);
    CHECK_EQ(ok.calls, 1); /* the healthy fd is still served */
    if (strcmp(cio_loop_backend(loop), "epoll") == 0) {
        CHECK_EQ(h.calls, 0);
    } else {
        CHECK_EQ(h.calls, 1);
        CHECK(h.events & CIO_ERROR);
        CHECK(h.events & CIO_READABLE);
    }
    CHECK_EQ(cio_loop_unregister(loop, sv[0]), 0);
    CHECK_EQ(cio_loop_unregister(loop, other[0]), 0);
    close(sv[1]);
    close(other[0]);
    close(other[1]);
}

int main(void)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, "nope"), -EINVAL);
    CHECK(loop == NULL);
    CHECK_EQ(cio_loop_new(&loop, NULL), 0);
    int data;
    cio_loop_set_data(loop, &data);
    CHECK(cio_loop_data(loop) == &data);
    test_basic(loop);
    test_unregister_in_callback(loop);
    test_hangup(loop);
    test_stop(loop);
    test_many(loop);
    test_high_fd(loop);
    test_closed_while_registered(loop);
    cio_loop_free(loop);
    printf("ok\n");
    return 0;
}
