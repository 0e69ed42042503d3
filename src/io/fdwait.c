/* Waiting for fd readiness, Go netpoll style. Each fd has a small state in
 * a table indexed by fd: its readers and writers and what the loop watches.
 * An fd is registered with the (level-triggered) loop on its first wait and
 * its interest changes lazily: kept while waiters come back quickly, dropped
 * only when an event fires that nobody waits for. A ping-pong connection
 * therefore costs no epoll_ctl in steady state.
 *
 * cio_fd_close wakes the waiters with -EBADF and unregisters before closing,
 * so no event for a reused fd number reaches a stale waiter. A number
 * closed with plain close() and reused would keep the old file's interest,
 * gone from the kernel with it, and never fire. So a wait that ends
 * without its event drops the interest nobody waits for, and a wait that
 * lasts checks the file's identity (device and inode) now and then; calls
 * that rely on a cached O_NONBLOCK check it each time (io.c).
 *
 * Regular files, directories and block devices are always ready (as poll
 * says); fstat tells, when the state is first used. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corio/io.h"
#include "io/fdwait.h"
#include "io/uring_hub.h"

static void fd_event_cb(cio_loop_t *loop, int fd, int events, void *data);

struct cio__fd *cio__fd_get(struct cio__hub *hub, int fd)
{
    if (fd < 0)
        return NULL;
    size_t page = (size_t)fd / CIO__FD_PAGE;
    if (page >= cio__io(hub)->fd_npages) {
        size_t n = cio__io(hub)->fd_npages ? cio__io(hub)->fd_npages : 4;
        while (n <= page)
            n *= 2;
        struct cio__fd **pages =
            realloc(cio__io(hub)->fd_pages, n * sizeof *pages);
        if (!pages)
            return NULL;
        for (size_t i = cio__io(hub)->fd_npages; i < n; i++)
            pages[i] = NULL;
        cio__io(hub)->fd_pages = pages;
        cio__io(hub)->fd_npages = n;
    }
    if (!cio__io(hub)->fd_pages[page]) {
        size_t bytes = CIO__FD_PAGE * sizeof(struct cio__fd);
        struct cio__fd *states = aligned_alloc(_Alignof(struct cio__fd), bytes);
        if (!states)
            return NULL;
        memset(states, 0, bytes);
        cio__io(hub)->fd_pages[page] = states;
    }
    return &cio__io(hub)->fd_pages[page][(size_t)fd % CIO__FD_PAGE];
}

/* The state of fd if the table has a page for it (no allocation). */
static struct cio__fd *fd_peek(struct cio__hub *hub, int fd)
{
    if (!hub || fd < 0 || (size_t)fd / CIO__FD_PAGE >= cio__io(hub)->fd_npages)
        return NULL;
    struct cio__fd *page = cio__io(hub)->fd_pages[(size_t)fd / CIO__FD_PAGE];
    return page ? &page[(size_t)fd % CIO__FD_PAGE] : NULL;
}

/* Wakes every task waiting on one direction of an fd with rc; returns
 * how many there were. */
static size_t wake_side(struct cio__hub *hub, cio_task_t **slot,
                        struct cio__waitq *q, int rc)
{
    size_t n = 0;
    cio_task_t *t = *slot;
    if (t) {
        *slot = NULL;
        cio__wake(t, rc);
        n++;
    }
    if (!cio__waitq_empty(q))
        n += cio__waitq_wake_all(q, rc);
    cio__io(hub)->fd_waiters -= n;
    return n;
}

/* Ends a streaming fd's record (the fd is closed or reused). */
static void stream_close(struct cio__hub *hub, int fd, struct cio__fd *f)
{
#ifdef CIO_HAVE_URING
    if (f->stream & CIO__FD_STREAMING)
        cio__stream_close(hub, fd);
#else
    (void)hub, (void)fd;
#endif
    f->stream = 0;
}

/* A readiness wait for reading ends streaming on fd: true if the data its
 * reads took off the socket makes it readable now. */
static bool stream_ready(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    bool ready = false;
    if (!f)
        return false;
#ifdef CIO_HAVE_URING
    if (f->stream & CIO__FD_STREAMING)
        ready = cio__stream_drop(hub, fd);
#else
    (void)hub, (void)fd;
#endif
    /* A program that waits before it reads never streams this fd again:
     * it may read with plain read(2) once woken. */
    if (!(f->stream & CIO__FD_STREAMING))
        f->stream = CIO__FD_NOSTREAM;
    return ready;
}

/* For the hook library (declared in hook/hook.h, which is not ours to
 * include): see there. */
ssize_t cio__stream_take(int fd, const struct iovec *iov, int cnt, int flags);
ssize_t cio__stream_take(int fd, const struct iovec *iov, int cnt, int flags)
{
#ifdef CIO_HAVE_URING
    cio_task_t *t = cio__self();
    struct cio__fd *f = t ? fd_peek(t->hub, fd) : NULL;
    if (f && (f->stream & CIO__FD_STREAMING))
        return cio__stream_read(t->hub, t, fd, iov, cnt, flags, false, 0);
#else
    (void)fd, (void)iov, (void)cnt, (void)flags;
#endif
    return -ENOENT;
}

int cio__stream_flush(int fd);
int cio__stream_flush(int fd)
{
#ifdef CIO_HAVE_URING
    cio_task_t *t = cio__self();
    struct cio__fd *f = t ? fd_peek(t->hub, fd) : NULL;
    if (f && (f->stream & CIO__FD_STREAMING)) {
        ssize_t r = cio__stream_write(t->hub, t, fd, NULL, 0, -1);
        return r == -ENOENT ? 0 : (int)r;
    }
#else
    (void)fd;
#endif
    return 0;
}

void cio__fd_wake_readers(struct cio__hub *hub, int fd)
{
    struct cio__fd *f = fd_peek(hub, fd);
    if (f)
        wake_side(hub, &f->reader, &f->readers, 0);
}

static bool fd_idle(const struct cio__fd *f)
{
    return !f->reader && !f->writer && cio__waitq_empty(&f->readers) &&
           cio__waitq_empty(&f->writers);
}

_Static_assert(sizeof(struct cio__fd) == 64, "one cache line per fd");

static int change_interest(struct cio__hub *hub, int fd, struct cio__fd *f,
                           int interest)
{
    int rc;
    if (!f->registered) {
        /* -EEXIST: the program watches this fd on the hub's loop itself;
         * its callback, not ours, would get the events. */
        rc = cio_loop_register(cio__run(hub)->loop, fd, interest, fd_event_cb,
                               hub);
        if (rc == 0)
            f->registered = 1;
    } else {
        rc = cio_loop_modify(cio__run(hub)->loop, fd, interest);
        if (rc == -ENOENT) { /* unregistered behind our back: again */
            f->registered = 0;
            return change_interest(hub, fd, f, interest);
        }
    }
    if (rc == -EPERM) { /* epoll refuses a device without poll */
        f->nopoll = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    f->interest = (uint8_t)interest;
    return 0;
}

/* What the loop watches for fd becomes interest: in steady state, what it
 * watches already. */
static inline int set_interest(struct cio__hub *hub, int fd, struct cio__fd *f,
                               int interest)
{
    if (f->registered && f->interest == interest)
        return 0;
    return change_interest(hub, fd, f, interest);
}

static void forget(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    if (f->registered)
        cio_loop_unregister(cio__run(hub)->loop, fd);
    f->registered = 0;
    f->interest = 0;
    f->drained = 0;
    f->notsock = 0;
    f->nonblock = 0;
    f->known = 0;
    f->nopoll = 0;
}

int cio__fd_check(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint64_t ident =
        (uint64_t)st.st_ino ^ ((uint64_t)st.st_dev * 0x9e3779b97f4a7c15ull);
    if (f->known && f->ident == ident)
        return 0;
    if (f->known) { /* closed behind our back; the number is reused */
        stream_close(hub, fd, f);
        wake_side(hub, &f->reader, &f->readers, -EBADF);
        wake_side(hub, &f->writer, &f->writers, -EBADF);
        forget(hub, fd, f);
    }
    f->known = 1;
    f->ident = ident;
    f->nopoll =
        S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISBLK(st.st_mode);
    return 0;
}

/* Acts on one readiness report: wakes the fd's waiters, and stops watching
 * what nobody waits for. */
static void fd_ready(struct cio__hub *hub, int fd, struct cio__fd *f,
                     int events)
{
    if (!f->registered) /* closed since the report */
        return;
    int err = events & CIO_ERROR;
    int drop = 0;
    if ((events & CIO_READABLE) || err) {
        f->drained = 0;
        if (wake_side(hub, &f->reader, &f->readers, 0) == 0)
            drop |= CIO_READABLE;
    }
    if ((events & CIO_WRITABLE) || err) {
        if (wake_side(hub, &f->writer, &f->writers, 0) == 0)
            drop |= CIO_WRITABLE;
    }
    if (err && fd_idle(f)) {
        /* An error or hang-up stays reported whatever we ask: step out
         * until somebody waits again. */
        forget(hub, fd, f);
        return;
    }
    if (drop & f->interest)
        set_interest(hub, fd, f, f->interest & ~drop);
}

/* The loop reports readiness one fd at a time. The reports are kept and
 * acted on together when its iteration ends (cio__fd_flush), where each
 * one warms the fd states and tasks of those a few places later: with
 * thousands of connections they are cold, and acted on one by one, their
 * misses would follow each other. */
static void fd_event_cb(cio_loop_t *loop, int fd, int events, void *data)
{
    struct cio__hub *hub = data;
    struct cio__fd *f = fd_peek(hub, fd);
    (void)loop;
    if (!f)
        return;
    if (cio__io(hub)->fd_nevents == cio__io(hub)->fd_events_cap) {
        size_t cap =
            cio__io(hub)->fd_events_cap ? cio__io(hub)->fd_events_cap * 2 : 256;
        struct cio__fd_event *grown =
            realloc(cio__io(hub)->fd_events, cap * sizeof *grown);
        if (!grown) {
            fd_ready(hub, fd, f, events); /* act at once, then */
            return;
        }
        cio__io(hub)->fd_events = grown;
        cio__io(hub)->fd_events_cap = cap;
    }
    cio__io(hub)->fd_events[cio__io(hub)->fd_nevents++] =
        (struct cio__fd_event){.f = f, .fd = fd, .events = events};
}

/* Reports warmed ahead of the one acted on: fd states twice as far. */
#define AHEAD 8

void cio__fd_flush(struct cio__hub *hub)
{
    const struct cio__fd_event *ev = cio__io(hub)->fd_events;
    size_t n = cio__io(hub)->fd_nevents;
    for (size_t i = 0; i < n; i++) {
        if (i + 2 * AHEAD < n)
            __builtin_prefetch(ev[i + 2 * AHEAD].f);
        if (i + AHEAD < n) { /* a prefetch of NULL is harmless too */
            __builtin_prefetch(ev[i + AHEAD].f->reader);
            __builtin_prefetch(ev[i + AHEAD].f->writer);
        }
        fd_ready(hub, ev[i].fd, ev[i].f, ev[i].events);
    }
    cio__io(hub)->fd_nevents = 0;
}

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
            stream_ready(hub, r->fd, f)) {
            rc = 1;
            break;
        }
        if (rc == 0 && !f->nopoll)
            rc = set_interest(hub, r->fd, f,
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

/* One wait on one direction of fd, until the deadline: 0 once ready. */
static int wait_once(struct cio__hub *hub, cio_task_t *t, int fd,
                     struct cio__fd *f, int events, int64_t deadline_ms)
{
    bool reading = events == CIO_READABLE;
    int rc = set_interest(hub, fd, f, f->interest | events);
    if (rc < 0 || f->nopoll)
        return rc;
    cio_task_t **slot = reading ? &f->reader : &f->writer;
    struct cio__waiter *w = NULL;
    if (!*slot) {
        *slot = t;
    } else {
        w = &t->wnode[0];
        cio__waitq_push(reading ? &f->readers : &f->writers, w, t);
    }
    cio__io(hub)->fd_waiters++;
    t->wait_obj = f;
    rc = cio__block(t, deadline_ms, reading ? "fd read" : "fd write", fd);
    /* Woken by something else than the fd (deadline, kill): step out. The
     * fd's wakes alone pass 0, and unlink us: then its state, gone cold
     * meanwhile, is not read again. */
    if (rc != 0 && (w ? w->q != NULL : *slot == t)) {
        if (w)
            cio__waitq_remove(w);
        else
            *slot = NULL;
        cio__io(hub)->fd_waiters--;
    }
    t->wait_obj = NULL;
    return rc;
}

/* A wait that long without an event checks that the number still names
 * the file the loop watches (one fstat), then twice as long, and so on. */
#define PROBE_MS 250
#define PROBE_MAX_MS 8000

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
    if (events == CIO_READABLE && stream_ready(hub, fd, f))
        return 0;
    for (int64_t probe = PROBE_MS;; probe *= 2) {
        int64_t at = cio_loop_now(cio__run(hub)->loop) + probe;
        int64_t until =
            deadline_ms >= 0 && deadline_ms <= at ? deadline_ms : at;
        rc = wait_once(hub, t, fd, f, events, until);
        if (rc != -ETIMEDOUT || until == deadline_ms)
            break;
        if ((rc = cio__fd_check(hub, fd, f)) < 0 || f->nopoll)
            return rc;
        if (probe >= PROBE_MAX_MS)
            probe = PROBE_MAX_MS / 2;
    }
    /* A wait that ends without its event keeps no interest that nobody
     * waits for: the number may be closed and reused before the next. */
    bool reading = events == CIO_READABLE;
    if (rc != 0 && f->registered &&
        !(reading ? f->reader || !cio__waitq_empty(&f->readers)
                  : f->writer || !cio__waitq_empty(&f->writers)))
        set_interest(hub, fd, f, f->interest & ~events);
    return rc;
}

void cio__fd_fresh(int fd)
{
    struct cio__hub *hub = cio__hub_get();
    struct cio__fd *f = fd_peek(hub, fd);
    if (!f)
        return;
    /* The number was closed without cio_fd_close: whoever waited on the old
     * file waits in vain; tell them. */
    stream_close(hub, fd, f);
    wake_side(hub, &f->reader, &f->readers, -EBADF);
    wake_side(hub, &f->writer, &f->writers, -EBADF);
    forget(hub, fd, f);
}

int cio_fd_close(int fd)
{
    if (fd < 0)
        return -EBADF;
#ifdef CIO_HAVE_URING
    struct cio__hub *hub = cio__hub_get();
    /* A reply queued on the ring goes out before the file closes. */
    bool linger = hub && cio__io(hub)->uring && cio__stream_sending(hub, fd);
    cio__fd_fresh(fd);
    if (hub && cio__io(hub)->uring)
        return cio__uring_close(hub, fd, linger);
#else
    cio__fd_fresh(fd);
#endif
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}

void cio__fd_drop_idle(struct cio__hub *hub)
{
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < CIO__FD_PAGE; i++) {
            struct cio__fd *f = &page[i];
            if (f->registered && fd_idle(f))
                forget(hub, (int)(p * CIO__FD_PAGE + i), f);
        }
    }
}

void cio__fd_table_free(struct cio__hub *hub)
{
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < CIO__FD_PAGE; i++)
            if (page[i].registered)
                cio_loop_unregister(cio__run(hub)->loop,
                                    (int)(p * CIO__FD_PAGE + i));
        free(page);
    }
#ifdef CIO_HAVE_URING
    cio__streams_free(hub);
#endif
    free(cio__io(hub)->fd_pages);
    cio__io(hub)->fd_pages = NULL;
    cio__io(hub)->fd_npages = 0;
    free(cio__io(hub)->fd_events);
    cio__io(hub)->fd_events = NULL;
    cio__io(hub)->fd_nevents = cio__io(hub)->fd_events_cap = 0;
}

int cio_fd_wait_readable(int fd, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (stream_ready(t->hub, fd, fd_peek(t->hub, fd)))
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

/* Data that streaming reads took off a socket is readable too (and ends
 * their streaming): poll(2)'s count n, corrected. */
static int stream_revents(struct cio__hub *hub, struct pollfd *fds,
                          unsigned long nfds, int n)
{
    for (unsigned long i = 0; i < nfds; i++) {
        if (!(fds[i].events & POLLIN) ||
            !stream_ready(hub, fds[i].fd, fd_peek(hub, fds[i].fd)))
            continue;
        if (!fds[i].revents)
            n++;
        fds[i].revents |= POLLIN;
    }
    return n;
}

int cio_fd_poll(struct pollfd *fds, unsigned long nfds, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    struct cio__fdreq small[8];
    struct cio__fdreq *reqs = small;
    struct cio__waiter *nodes = t->wnode;
    if (nfds > 8)
        reqs = calloc(nfds, sizeof *reqs);
    if (nfds > 1)
        nodes = calloc(2 * nfds, sizeof *nodes);
    if (!reqs || !nodes) {
        rc = -ENOMEM;
        goto out;
    }
    for (;;) {
        /* The kernel says what is ready now, with poll(2)'s own rules. */
        int n = poll(fds, nfds, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n >= 0)
            n = stream_revents(t->hub, fds, nfds, n);
        if (n != 0) {
            rc = n < 0 ? -errno : n;
            break;
        }
        if (cio__expired(t->hub, deadline_ms)) {
            rc = 0;
            break;
        }
        for (unsigned long i = 0; i < nfds; i++) {
            reqs[i].fd = fds[i].fd;
            reqs[i].events =
                ((fds[i].events & (POLLIN | POLLPRI)) ? CIO_READABLE : 0) |
                ((fds[i].events & POLLOUT) ? CIO_WRITABLE : 0);
        }
        rc = cio__fd_wait_many(t->hub, t, reqs, nfds, nodes, deadline_ms);
        if (rc == -ETIMEDOUT) {
            rc = 0;
            break;
        }
        if (rc < 0)
            break;
    }
out:
    if (reqs != small)
        free(reqs);
    if (nodes != t->wnode)
        free(nodes);
    return rc;
}
