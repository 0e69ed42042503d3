/* Waiting for fd readiness, Go netpoll style: a task that waits takes the
 * fd's reader or writer slot (more waiters queue behind it) and sleeps
 * until the loop's report wakes it (fdevent.c). The common wait, a socket
 * read that came up short on an fd already watched, links itself and
 * switches away as its caller's last act. */
#include <errno.h>
#include <poll.h>

#include "io/fd_int.h"

int cio__fd_wait_many(struct cio__hub *hub, cio_task_t *t,
                      const struct cio__fdreq *reqs, size_t n,
                      struct cio__waiter *nodes, int64_t deadline_ms)
{
    int rc = 0;
    for (size_t i = 0; i < 2 * n; i++)
        nodes[i].q = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct cio__fdreq *r = &reqs[i];
        if (r->fd < 0 || !r->events)
            continue;
        struct cio__fd *f = cio__fd_at(hub, r->fd);
        if (!f) {
            rc = -ENOMEM;
            break;
        }
        rc = cio__fd_check(hub, r->fd, f);
        if (rc == 0 && (r->events & CIO_READABLE) &&
            cio__fd_stream_ready(hub, r->fd, f)) {
            rc = 1;
            break;
        }
        if (rc == 0 && !f->nopoll)
            rc = cio__fd_set_interest(hub, r->fd, f,
                                      f->interest | (r->events & CIO_READABLE) |
                                          (r->events & CIO_WRITABLE));
        if (rc < 0)
            break;
        if (f->nopoll) { /* a regular file: always ready */
            rc = 1;
            break;
        }
        if (r->events & CIO_READABLE) {
            cio__waitq_push(&f->readers, &nodes[2 * i], t);
            cio__io(hub)->fd_waiters++;
        }
        if (r->events & CIO_WRITABLE) {
            cio__waitq_push(&f->writers, &nodes[2 * i + 1], t);
            cio__io(hub)->fd_waiters++;
        }
    }
    if (rc == 0) {
        long what = n == 1 ? reqs[0].fd : (long)n;
        const char *name = "poll of fds";
        if (n == 1)
            name = reqs[0].events == CIO_WRITABLE ? "fd write" : "fd read";
        rc = cio__block(t, deadline_ms, name, what);
        if (rc == WAKE_RECHECK) /* a number reused: the caller polls again */
            rc = 0;
    } else if (rc == 1) {
        rc = 0;
    }
    for (size_t i = 0; i < 2 * n; i++) {
        if (nodes[i].q) {
            cio__waitq_remove(&nodes[i]);
            cio__io(hub)->fd_waiters--;
        }
    }
    return rc;
}

static int wait_cut(cio_task_t *t, int fd, int events, int64_t deadline_ms,
                    int rc);

/* Links t as a waiter of fd for one direction: 0, 1 if fd never waits
 * (a regular file), or -errno. */
static __attribute__((noinline)) int wait_link(struct cio__hub *hub,
                                               cio_task_t *t, int fd,
                                               struct cio__fd *f, int events)
{
    bool reading = events == CIO_READABLE;
    int rc = cio__fd_set_interest(hub, fd, f, f->interest | events);
    if (rc < 0 || f->nopoll)
        return rc < 0 ? rc : 1;
    cio_task_t **slot = reading ? &f->reader : &f->writer;
    if (!*slot)
        *slot = t;
    else
        cio__waitq_push(reading ? &f->readers : &f->writers, &t->wnode[0], t);
    cio__io(hub)->fd_waiters++;
    t->wait_obj = f;
    if (__builtin_expect(!cio__io(hub)->fd_probe.loop, 0)) { /* not running */
        cio__io(hub)->fd_probe_last = cio_loop_now(cio__run(hub)->loop);
        cio_timer_start(&cio__io(hub)->fd_probe, PROBE_MS, PROBE_MS);
    }
    return 0;
}

/* Waits until fd is ready for one direction or the deadline: 0 once
 * ready. Its frame is kept while the task waits (all of a waiting task's
 * memory with copied stacks), so only t, fd, events and the deadline live
 * across the wait; the rare ends go to wait_cut. */
static __attribute__((noinline)) int wait_one(struct cio__hub *hub,
                                              cio_task_t *t, int fd,
                                              struct cio__fd *f, int events,
                                              int64_t deadline_ms)
{
    int rc = wait_link(hub, t, fd, f, events);
    if (rc)
        return rc < 0 ? rc : 0;
    rc = cio__block(t, deadline_ms,
                    events == CIO_READABLE ? "fd read" : "fd write", fd);
    t->wait_obj = NULL;
    if (__builtin_expect(rc == 0, 1))
        return 0;
    return wait_cut(t, fd, events, deadline_ms, rc);
}

/* A wait woken by something else than the fd (deadline, kill, a probe
 * that found another file): steps out. The fd's wakes alone pass 0, and
 * unlink us: then its state, gone cold meanwhile, is not read again. */
static __attribute__((noinline)) int wait_cut(cio_task_t *t, int fd, int events,
                                              int64_t deadline_ms, int rc)
{
    struct cio__hub *hub = t->hub;
    struct cio__fd *f = cio__fd_at(hub, fd);
    bool reading = events == CIO_READABLE;
    cio_task_t **slot = reading ? &f->reader : &f->writer;
    if (*slot == t) {
        *slot = NULL;
        cio__io(hub)->fd_waiters--;
    } else if (t->wnode[0].q) {
        cio__waitq_remove(&t->wnode[0]);
        cio__io(hub)->fd_waiters--;
    }
    /* A wait that ends without its event keeps no interest that nobody
     * waits for: the number may be closed and reused before the next. */
    if (f->registered &&
        !(reading ? f->reader || !cio__waitq_empty(&f->readers)
                  : f->writer || !cio__waitq_empty(&f->writers)))
        cio__fd_set_interest(hub, fd, f, f->interest & ~events);
    if (rc != WAKE_RECHECK)
        return rc;
    /* The number names another file: wait for that one. */
    if ((rc = cio__fd_check(hub, fd, f)) < 0 || f->nopoll)
        return rc;
    return wait_one(hub, t, fd, f, events, deadline_ms);
}

/* cio__fd_wait_self's general case, in the form it returns. */
static __attribute__((noinline)) int
wait_general(struct cio__hub *hub, int fd, int events, int64_t deadline_ms)
{
    int rc = cio__fd_wait(hub, cio__run(hub)->current, fd, events, deadline_ms);
    return rc < 0 ? rc : 1;
}

/* True if a readiness wait on f can be the common one: a known socket
 * already watched for events, no deadline, nothing streaming. */
static inline bool wait_common(const struct cio__fd *f, int events,
                               int64_t deadline_ms)
{
    return f && deadline_ms < 0 && f->known && !f->nopoll &&
           (f->interest & events) && f->registered &&
           !(f->stream & CIO__FD_STREAMING);
}

/* cio__fd_wait_self for a wait that is not the common one yet, typically
 * an fd's first: watched for events, it becomes so. */
static __attribute__((noinline)) int wait_first(struct cio__hub *hub,
                                                struct cio__fd *f, int fd,
                                                int events, int64_t deadline_ms)
{
    if (!f || deadline_ms >= 0 || !cio__io(hub)->fd_probe.loop)
        return wait_general(hub, fd, events, deadline_ms);
    int rc = f->known ? 0 : cio__fd_check(hub, fd, f);
    if (rc == 0 && !f->nopoll && !(f->stream & CIO__FD_STREAMING))
        rc = cio__fd_set_interest(hub, fd, f, f->interest | events);
    if (rc < 0)
        return rc;
    if (!wait_common(f, events, deadline_ms))
        return wait_general(hub, fd, events, deadline_ms);
    return cio__fd_wait_self(f, fd, events, deadline_ms);
}

int cio__fd_wait_self(struct cio__fd *f, int fd, int events,
                      int64_t deadline_ms)
{
    struct cio__hub *hub = cio__tls_hub;
    bool reading = events == CIO_READABLE;
    /* The common wait, with no other waiter: linked here, and the switch
     * away is our last act. */
    if (__builtin_expect(!wait_common(f, events, deadline_ms), 0))
        return wait_first(hub, f, fd, events, deadline_ms);
    cio_task_t **slot = reading ? &f->reader : &f->writer;
    if (__builtin_expect(*slot != NULL || !cio__io(hub)->fd_probe.loop, 0))
        return wait_general(hub, fd, events, deadline_ms);
    cio_task_t *t = cio__run(hub)->current;
    /* It waits before it reads: never streams (cio__fd_stream_ready). */
    if (reading)
        f->stream = CIO__FD_NOSTREAM;
    *slot = t;
    cio__io(hub)->fd_waiters++;
    t->wait_obj = f; /* a hint once woken: the fd's wake unlinked us */
    return cio__suspend(t, reading ? "fd read" : "fd write", fd);
}

int cio__fd_wait_read(struct cio__fd *f, int fd)
{
    /* wait_common for a read without deadline, in one test: registered,
     * watched for reading, known, pollable, not streaming. */
    const struct cio__fd mask = {.registered = 0xff,
                                 .interest = CIO_READABLE,
                                 .known = 0xff,
                                 .nopoll = 0xff,
                                 .stream = CIO__FD_STREAMING};
    const struct cio__fd want = {
        .registered = 1, .interest = CIO_READABLE, .known = 1};
    struct cio__hub *hub = cio__tls_hub;
    if (__builtin_expect((f->flags & mask.flags) != want.flags || f->reader ||
                             !cio__io(hub)->fd_probe.loop,
                         0))
        return cio__fd_wait_self(f, fd, CIO_READABLE, -1);
    cio_task_t *t = cio__run(hub)->current;
    f->stream = CIO__FD_NOSTREAM; /* as in cio__fd_wait_self */
    f->reader = t;
    cio__io(hub)->fd_waiters++;
    t->wait_obj = f;
    return cio__suspend(t, "fd read", fd);
}

int cio__fd_wait_end(int fd, int events, int64_t deadline_ms)
{
    cio_task_t *t = cio__run(cio__tls_hub)->current;
    t->wait_obj = NULL;
    t->wait_what = NULL;
    return wait_cut(t, fd, events, deadline_ms, cio__woken_rc(t));
}

int cio__fd_wait(struct cio__hub *hub, cio_task_t *t, int fd, int events,
                 int64_t deadline_ms)
{
    if (fd < 0 || (events != CIO_READABLE && events != CIO_WRITABLE)) {
        struct cio__fdreq r = {.fd = fd, .events = events};
        return cio__fd_wait_many(hub, t, &r, 1, t->wnode, deadline_ms);
    }
    /* One fd, one direction: every read or write that has to wait. */
    struct cio__fd *f = cio__fd_at(hub, fd);
    if (!f)
        return -ENOMEM;
    /* Known as always ready, it may have been replaced by a pipe since. */
    int rc = f->known && !f->nopoll ? 0 : cio__fd_check(hub, fd, f);
    if (rc < 0 || f->nopoll) /* a regular file is always ready */
        return rc;
    if (events == CIO_READABLE && cio__fd_stream_ready(hub, fd, f))
        return 0;
    uint32_t gen = f->gen;
    rc = wait_one(hub, t, fd, f, events, deadline_ms);
    return rc == 0 && f->gen != gen ? -EBADF : rc; /* closed since its event */
}

int cio_fd_wait_readable(int fd, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (cio__fd_stream_ready(t->hub, fd, cio__fd_peek_hub(t->hub, fd)))
        return 0;
    if (cio__expired(t->hub, deadline_ms)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        return poll(&p, 1, 0) > 0 ? 0 : -ETIMEDOUT;
    }
    return cio__fd_wait(t->hub, t, fd, CIO_READABLE, deadline_ms);
}

int cio_fd_wait_writable(int fd, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (cio__expired(t->hub, deadline_ms)) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        return poll(&p, 1, 0) > 0 ? 0 : -ETIMEDOUT;
    }
    return cio__fd_wait(t->hub, t, fd, CIO_WRITABLE, deadline_ms);
}
