/* Nurseries and shields: children joined, killed and waited for on the way
 * out; a killed parent still joins its children within the nursery's
 * grace, and gives up at its end; a shielded child does its cleanup IO
 * after a kill.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

static void *sleep_then_return(void *arg)
{
    intptr_t i = (intptr_t)arg;
    CHECK_EQ(cio_task_sleep(5 * i), 0);
    return (void *)(i * 10);
}

struct forever {
    int rc;           /* what the endless sleep returned */
    int spawn_rc;     /* a spawn into the closing nursery */
    cio_nursery_t *n; /* the child's own nursery */
};

static void *sleep_forever(void *arg)
{
    struct forever *f = arg;
    f->rc = cio_task_sleep(-1);
    f->spawn_rc = cio_nursery_spawn(f->n, NULL, sleep_then_return, NULL);
    return NULL;
}

static void *self_close(void *arg)
{
    cio_nursery_t *n = arg;
    CHECK_EQ(cio_nursery_join(n, -1), -EDEADLK);
    CHECK_EQ(cio_nursery_close(n, -1), -EDEADLK);
    return NULL;
}

static void basics(void)
{
    cio_nursery_t *n;
    CHECK_EQ(cio_nursery_new(NULL, 0), -EINVAL);
    CHECK_EQ(cio_nursery_new(&n, 100), 0);
    CHECK(cio_nursery_data(n) == NULL);
    cio_nursery_set_data(n, &n);
    CHECK(cio_nursery_data(n) == &n);
    CHECK_EQ(cio_nursery_spawn(n, NULL, NULL, NULL), -EINVAL);

    /* join waits for every child; a handle reads its result */
    cio_task_t *t;
    for (intptr_t i = 1; i <= 4; i++)
        CHECK_EQ(cio_nursery_spawn(n, NULL, sleep_then_return, (void *)i), 0);
    CHECK_EQ(cio_nursery_spawn(n, &t, sleep_then_return, (void *)5), 0);
    CHECK_EQ(cio_nursery_running(n), 5);
    CHECK_EQ(cio_nursery_join(n, 0), -ETIMEDOUT);
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_nursery_join(n, cio_deadline_in(5000)), 0);
    CHECK(cio_hub_now() - t0 >= 24);
    CHECK_EQ(cio_nursery_running(n), 0);
    CHECK(cio_task_done(t));
    CHECK_EQ((intptr_t)cio_task_result(t), 50);
    cio_task_free(t);

    /* a child cannot wait for its own nursery */
    CHECK_EQ(cio_nursery_spawn(n, &t, self_close, n), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    cio_task_free(t);

    /* close kills what runs and waits; the nursery refuses spawns then */
    struct forever f[3];
    for (int i = 0; i < 3; i++) {
        f[i] = (struct forever){.rc = 1, .spawn_rc = 1, .n = n};
        CHECK_EQ(cio_nursery_spawn(n, NULL, sleep_forever, &f[i]), 0);
    }
    CHECK_EQ(cio_task_sleep(5), 0);
    CHECK_EQ(cio_nursery_running(n), 3);
    CHECK_EQ(cio_nursery_close(n, cio_deadline_in(5000)), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(f[i].rc, -ECANCELED);
        CHECK_EQ(f[i].spawn_rc, -EPIPE);
    }
    CHECK_EQ(cio_hub_task_count(), 1);
}

/* A child that says goodbye on its socket after a kill, under a shield. */
struct cleaner {
    int fd;          /* its end of a socket pair */
    int64_t work_ms; /* how long its cleanup takes */
    int sleep_rc;    /* what its endless sleep returned */
    int cleanup_rc;  /* the cleanup's result */
    bool done;       /* it returned */
};

static void *cleaner_main(void *arg)
{
    struct cleaner *c = arg;
    c->sleep_rc = cio_task_sleep(-1);
    int64_t old = cio_task_shield(10000);
    CHECK_EQ(old, -1);
    c->cleanup_rc = cio_task_sleep(c->work_ms);
    if (c->cleanup_rc == 0)
        c->cleanup_rc = (int)cio_fd_write_all(c->fd, "bye", 3, -1);
    CHECK_EQ(cio_task_shield(old), 10000);
    CHECK_EQ(cio_task_sleep(0), -ECANCELED); /* unshielded: killed again */
    c->done = true;
    return NULL;
}

struct parent {
    struct cleaner *c; /* its one child */
    int64_t grace_ms;  /* its nursery's grace */
    int join_rc;       /* a plain join after the kill */
    int close_rc;      /* the close on the way out */
    int64_t close_ms;  /* how long the close took */
};

static void *parent_main(void *arg)
{
    struct parent *p = arg;
    cio_nursery_t *n;
    CHECK_EQ(cio_nursery_new(&n, p->grace_ms), 0);
    CHECK_EQ(cio_nursery_spawn(n, NULL, cleaner_main, p->c), 0);
    CHECK_EQ(cio_task_sleep(-1), -ECANCELED);
    p->join_rc = cio_nursery_join(n, -1);
    int64_t t0 = cio_hub_now();
    p->close_rc = cio_nursery_close(n, -1);
    p->close_ms = cio_hub_now() - t0;
    return NULL;
}

/* Kills a parent whose child needs work_ms to clean up. */
static void killed_parent(struct parent *p, struct cleaner *c, int peer)
{
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, parent_main, p), 0);
    CHECK_EQ(cio_task_sleep(10), 0);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    CHECK_EQ(p->join_rc, -ECANCELED); /* a plain wait ends at once */
    CHECK_EQ(c->sleep_rc, -ECANCELED);
    if (p->close_rc == 0) {
        char buf[3];
        CHECK_EQ(cio_fd_read_full(peer, buf, 3, cio_deadline_in(5000)), 3);
        CHECK(memcmp(buf, "bye", 3) == 0);
    }
}

static void grace(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    /* cleanup (100 ms) within the grace (2 s): the close waits for it */
    struct cleaner c = {.fd = sv[0], .work_ms = 100, .sleep_rc = 1};
    struct parent p = {.c = &c, .grace_ms = 2000};
    killed_parent(&p, &c, sv[1]);
    CHECK_EQ(p.close_rc, 0);
    CHECK(c.done);
    CHECK_EQ(c.cleanup_rc, 3);
    CHECK(p.close_ms >= 95 && p.close_ms < 1900);

    /* cleanup (400 ms) beyond the grace (50 ms): the close gives up at the
     * grace; the child finishes later on its own */
    struct cleaner slow = {.fd = sv[0], .work_ms = 400, .sleep_rc = 1};
    struct parent q = {.c = &slow, .grace_ms = 50};
    killed_parent(&q, &slow, sv[1]);
    CHECK_EQ(q.close_rc, -ECANCELED);
    CHECK(q.close_ms >= 45 && q.close_ms < 390);
    CHECK(!slow.done);
    int64_t until = cio_deadline_in(5000);
    while (!slow.done && cio_hub_now() < until)
        CHECK_EQ(cio_task_sleep(10), 0);
    CHECK(slow.done);
    CHECK_EQ(slow.cleanup_rc, 3);
    char buf[3];
    CHECK_EQ(cio_fd_read_full(sv[1], buf, 3, cio_deadline_in(5000)), 3);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
}

/* A shield whose grace has passed gives no more waits; a kill during a
 * shielded wait cuts it to the grace. */
static void *shield_cut_main(void *arg)
{
    int64_t *took = arg;
    cio_task_shield(30);
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_task_sleep(5000), -ECANCELED);
    *took = cio_hub_now() - t0;
    CHECK_EQ(cio_task_sleep(1), -ECANCELED);
    return NULL;
}

/* Runs fn(arg) in a task, kills it after ms and waits for its end. */
static void kill_after(cio_task_cb fn, void *arg, int64_t ms)
{
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, fn, arg), 0);
    CHECK_EQ(cio_task_sleep(ms), 0);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
}

static void shield_cut(void)
{
    CHECK_EQ(cio_task_shield(-1), -1);
    int64_t took = -1;
    kill_after(shield_cut_main, &took, 5);
    CHECK(took >= 25 && took < 4000);
}

/* The same for a socket read and a socket write that wait with no
 * deadline, the hub's shortest wait: -ECANCELED at the grace's end, not
 * the deadline's -ETIMEDOUT. */
static int cut_fds[2];

static void *shield_cut_io_main(void *arg)
{
    int64_t *took = arg;
    cio_task_shield(30);
    int64_t t0 = cio_hub_now();
    char c;
    CHECK_EQ(cio_fd_read(cut_fds[0], &c, 1, -1), -ECANCELED);
    *took = cio_hub_now() - t0;
    return NULL;
}

static void *shield_cut_write_main(void *arg)
{
    (void)arg;
    cio_task_shield(30);
    static char block[64 * 1024];
    ssize_t n;
    while ((n = cio_fd_write(cut_fds[0], block, sizeof block, -1)) > 0)
        ; /* until the socket is full and the write waits */
    CHECK_EQ(n, -ECANCELED);
    return NULL;
}

static void shield_cut_io(void)
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, cut_fds), 0);
    /* A wait with a deadline first: the hub's first fd wait, which starts
     * its fd probe, goes the general way; the two below go the short one. */
    char c;
    CHECK_EQ(cio_fd_read(cut_fds[1], &c, 1, cio_deadline_in(1)), -ETIMEDOUT);
    int64_t took = -1;
    kill_after(shield_cut_io_main, &took, 5);
    CHECK(took >= 25 && took < 4000);
    kill_after(shield_cut_write_main, NULL, 20);
    cio_fd_close(cut_fds[0]);
    cio_fd_close(cut_fds[1]);
}

static void *main_task(void *arg)
{
    (void)arg;
    basics();
    grace();
    shield_cut();
    shield_cut_io();
    return NULL;
}

int main(void)
{
    cio_nursery_t *n;
    CHECK_EQ(cio_nursery_new(&n, 0), -EPERM);
    CHECK_EQ(cio_task_shield(100), -1);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
