/* The loop's side of the fd table: what it watches for each fd, changed
 * lazily (kept while waiters come back quickly, dropped only when an event
 * fires that nobody waits for), and its readiness reports, which wake the
 * fd's waiters. */
#include <errno.h>
#include <stdlib.h>

#include "io/fd_int.h"

size_t cio__fd_wake_side(struct cio__hub *hub, cio_task_t **slot,
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

void cio__fd_wake_readers(struct cio__hub *hub, int fd)
{
    struct cio__fd *f = cio__fd_peek_hub(hub, fd);
    if (f)
        cio__fd_wake_side(hub, &f->reader, &f->readers, 0);
}

static void fd_event_cb(cio_loop_t *loop, int fd, int events, void *data);

int cio__fd_change_interest(struct cio__hub *hub, int fd, struct cio__fd *f,
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
            return cio__fd_change_interest(hub, fd, f, interest);
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

bool cio__fd_hand_over(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    bool ready = cio__fd_stream_ready(hub, fd, f);
    if (f->registered)
        cio_loop_unregister(cio__run(hub)->loop, fd);
    f->registered = 0;
    f->interest = 0;
    return ready;
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
        if (cio__fd_wake_side(hub, &f->reader, &f->readers, 0) == 0)
            drop |= CIO_READABLE;
    }
    if ((events & CIO_WRITABLE) || err) {
        if (cio__fd_wake_side(hub, &f->writer, &f->writers, 0) == 0)
            drop |= CIO_WRITABLE;
    }
    if (err && cio__fd_idle(f)) {
        /* An error or hang-up stays reported whatever we ask: step out
         * until somebody waits again. */
        cio__fd_forget(hub, fd, f);
        return;
    }
    if (drop & f->interest)
        cio__fd_set_interest(hub, fd, f, f->interest & ~drop);
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
