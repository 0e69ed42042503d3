/* Waiting for fd readiness, Go netpoll style. Each fd has a small state in
 * a table indexed by fd: its readers and writers and what the loop watches.
 * An fd is registered with the (level-triggered) loop on its first wait and
 * its interest changes lazily: kept while waiters come back quickly, dropped
 * only when an event fires that nobody waits for. A ping-pong connection
 * therefore costs no epoll_ctl in steady state.
 *
 * cio_fd_close wakes the waiters with -EBADF and unregisters before closing,
 * so no event for a reused fd number reaches a stale waiter; the fd's
 * generation moves on, so that a waiter woken by the old file's event
 * before the close does not go on with the new file (io.c). A number
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

/* A probe's wake: the number names another file now; the waits start
 * again on it (what a read or write waits for is the number's file). */
#define WAKE_RECHECK 1

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
    return hub ? cio__fd_peek(hub, fd) : NULL;
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

_Static_assert(sizeof(struct cio__fd) == 64, "one cache line per fd");

static int change_interest(struct cio__hub *hub, int fd, struct cio__fd *f,
                           int interest)
{
    int rc;
    if (!f->registered) {
        /* -EEXIST: the program watches this fd on the hub's loop itself;
         * its callback, not ours, would get the events. */
        rc = cio_loop_register(cio__run(hub)->loop, fd, interest, fd_event_cb,
                               f);
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

bool cio__fd_hand_over(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    bool ready = stream_ready(hub, fd, f);
    if (f->registered)
        cio_loop_unregister(cio__run(hub)->loop, fd);
    f->registered = 0;
    f->interest = 0;
    return ready;
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

static uint32_t file_ident(const struct stat *st)
{
    uint64_t h =
        (uint64_t)st->st_ino ^ ((uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull);
    return (uint32_t)(h ^ h >> 32);
}

int cio__fd_check(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    uint32_t ident = file_ident(&st);
    if (f->known && f->ident == ident)
        return 0;
    if (f->known) { /* closed behind our back; the number is reused */
        f->gen++;
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

/* fd_ready but for its common case. */
static __attribute__((noinline)) void
fd_ready_slow(struct cio__hub *hub, int fd, struct cio__fd *f, int events)
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
    if (err && cio__fd_idle(f)) {
        /* An error or hang-up stays reported whatever we ask: step out
         * until somebody waits again. */
        forget(hub, fd, f);
        return;
    }
    if (drop & f->interest)
        set_interest(hub, fd, f, f->interest & ~drop);
}

/* Acts on one readiness report: wakes the fd's waiters, and stops watching
 * what nobody waits for. The common report, readable with one reader, in
 * a few stores and no call. */
static inline __attribute__((always_inline)) void
fd_ready(struct cio__hub *hub, int fd, struct cio__fd *f, int events)
{
    cio_task_t *t = f->reader;
    if (__builtin_expect(events == CIO_READABLE && t && f->registered &&
                             cio__waitq_empty(&f->readers),
                         1)) {
        f->drained = 0;
        f->reader = NULL;
        cio__io(hub)->fd_waiters--;
        cio__wake(t, 0);
        return;
    }
    fd_ready_slow(hub, fd, f, events);
}

/* Keeps a report for cio__fd_flush. */
static __attribute__((noinline)) void
fd_event_keep(struct cio__hub *hub, int fd, struct cio__fd *f, int events)
{
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

/* The loop reports readiness one fd at a time. With thousands of
 * connections the reports are kept and acted on together when its
 * iteration ends (cio__fd_flush), where each one warms the fd states and
 * tasks of those a few places later: they are cold, and acted on one by
 * one, their misses would follow each other. */
static void fd_event_cb(cio_loop_t *loop, int fd, int events, void *data)
{
    struct cio__fd *f = data;            /* registered so: no lookup */
    struct cio__hub *hub = cio__tls_hub; /* whose loop runs this */
    (void)loop;
    if (__builtin_expect(cio__io(hub)->cold, 0))
        fd_event_keep(hub, fd, f, events);
    else /* all warm: nothing to gain by waiting */
        fd_ready(hub, fd, f, events);
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

/* A wait that lasts without an event checks that the number still names
 * the file the loop watches (one fstat): after PROBE_MS, then twice as
 * long, up to every PROBE_MAX_MS. A sweep of the fd table every PROBE_MS,
 * while fds have waiters, does it: the waits themselves arm no timer. */
#define PROBE_MS 250
#define PROBE_MAX_MS 8000

/* How many probe points a wait of age ms has passed. */
static int64_t probe_points(int64_t age)
{
    if (age < PROBE_MS)
        return 0;
    if (age >= PROBE_MAX_MS)
        return 6 + (age - PROBE_MAX_MS) / PROBE_MAX_MS;
    int64_t n = 1;
    for (int64_t at = 2 * PROBE_MS; at <= age; at *= 2)
        n++;
    return n;
}

/* When the oldest wait on f began, or -1 if nobody waits. */
static int64_t oldest_wait(const struct cio__fd *f)
{
    int64_t since = -1;
    const cio_task_t *w[4] = {f->reader, f->writer,
                              cio__waitq_first(&f->readers),
                              cio__waitq_first(&f->writers)};
    for (int i = 0; i < 4; i++)
        if (w[i] && (since < 0 || w[i]->wait_since < since))
            since = w[i]->wait_since;
    return since;
}

/* Checks the file behind a waited-on fd: if the number was closed behind
 * our back and reused, its waiters wait again, on the new file. */
static void probe(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && file_ident(&st) == f->ident)
        return;
    wake_side(hub, &f->reader, &f->readers, WAKE_RECHECK);
    wake_side(hub, &f->writer, &f->writers, WAKE_RECHECK);
    forget(hub, fd, f);
}

static void probe_cb(cio_timer_t *timer)
{
    struct cio__hub *hub = timer->data;
    int64_t now = cio_loop_now(cio__run(hub)->loop),
            last = cio__io(hub)->fd_probe_last;
    cio__io(hub)->fd_probe_last = now;
    if (!cio__io(hub)->fd_waiters) {
        cio_timer_stop(timer);
        return;
    }
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        for (size_t i = 0; page && i < CIO__FD_PAGE; i++) {
            struct cio__fd *f = &page[i];
            int64_t since = f->registered ? oldest_wait(f) : -1;
            if (since < 0 || now - since < PROBE_MS)
                continue;
            int64_t before = last > since ? last - since : 0;
            if (probe_points(now - since) > probe_points(before))
                probe(hub, (int)(p * CIO__FD_PAGE + i), f);
        }
    }
}

void cio__fd_table_init(struct cio__hub *hub)
{
    cio__timer_init(&cio__io(hub)->fd_probe, cio__run(hub)->loop, probe_cb,
                    hub);
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
    int rc = set_interest(hub, fd, f, f->interest | events);
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
        set_interest(hub, fd, f, f->interest & ~events);
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
        rc = set_interest(hub, fd, f, f->interest | events);
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
    if (reading) /* it waits before it reads: never streams (stream_ready) */
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
    if (events == CIO_READABLE && stream_ready(hub, fd, f))
        return 0;
    uint32_t gen = f->gen;
    rc = wait_one(hub, t, fd, f, events, deadline_ms);
    return rc == 0 && f->gen != gen ? -EBADF : rc; /* closed since its event */
}

void cio__fd_fresh(int fd)
{
    struct cio__hub *hub = cio__hub_get();
    struct cio__fd *f = fd_peek(hub, fd);
    if (!f)
        return;
    /* The number was closed without cio_fd_close: whoever waited on the old
     * file waits in vain; tell them, and by the generation those its event
     * woke who have not run yet. */
    f->gen++;
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
    cio_timer_stop(&cio__io(hub)->fd_probe); /* nobody waits on an fd */
    for (size_t p = 0; p < cio__io(hub)->fd_npages; p++) {
        struct cio__fd *page = cio__io(hub)->fd_pages[p];
        if (!page)
            continue;
        for (size_t i = 0; i < CIO__FD_PAGE; i++) {
            struct cio__fd *f = &page[i];
            if (f->registered && cio__fd_idle(f))
                forget(hub, (int)(p * CIO__FD_PAGE + i), f);
        }
    }
}

void cio__fd_table_free(struct cio__hub *hub)
{
    cio_timer_stop(&cio__io(hub)->fd_probe);
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
