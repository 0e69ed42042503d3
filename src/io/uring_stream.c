/* Streaming reads on the io_uring backend. A socket that a task reads
 * through the hub again and again, finding it drained each time (a
 * request-reply connection), gets one multishot recv into the provided
 * buffers instead of a one-shot recv per message: the kernel keeps its poll
 * armed, and each message lands in a buffer the fd's record keeps, in
 * order, until a read takes it.
 *
 * A multishot recv takes data off the socket before anyone asks, so the
 * record is the socket's front: every way corio reads the fd serves it
 * first. Anything else done with the fd ends streaming: a readiness wait
 * (which reports readable at once while data is kept), a read with flags
 * or an address, the hook library's recv, cio_fd_close. Ending cancels
 * the multishot; data it took meanwhile is still served, and no other
 * operation reads the fd until its final completion, so nothing is
 * reordered. The kernel writes only into the ring's buffers, never into
 * the record or a task's memory: a closed fd's record lives until that
 * final completion, its buffers given back at once. */
#ifdef CIO_HAVE_URING
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/fdwait.h"
#include "io/uring_hub.h"

#define NONE 0xffff
/* Bytes kept for one fd before its multishot is cancelled (back-pressure:
 * a fast sender must not take every buffer); re-armed once read. */
#define MAX_QUEUED (8 * CIO__PBUF_SIZE)
/* Drained ring reads in a row before an fd streams: a request-reply
 * connection gets there at once, a protocol that reads a few plain lines
 * before handing the socket to code that reads it raw (a TLS handshake
 * after STARTTLS) does not. */
#define ENTER_AFTER 8

struct cio__ustream {
    struct cio__uring_op base; /* the multishot recv's completions */
    cio_task_t *reader;        /* a task waiting in a stream read: right
                                  after base (cio__uring_op) */
    struct cio__hub *hub;      /* its hub */
    int fd;                    /* -1 once closed: freed at the final cqe */
    bool on;                   /* streaming: re-armed by the next read */
    bool armed;                /* a multishot is in flight */
    bool cancelling;           /* and its cancel was queued */
    bool nobufs;               /* it ended on -ENOBUFS: next read one-shot */
    bool ended;                /* end_res is the socket's last word */
    int end_res;               /* 0 (EOF) or -errno, after the data */
    uint16_t head, tail;       /* queued buffer ids, linked through next[] */
    uint16_t off;              /* bytes of head already taken */
    uint32_t queued;           /* bytes queued */
    struct behind *sb;         /* its send-behind in flight, or NULL */
    bool sending;              /* a send-behind is in flight */
    int send_err;              /* how the last one failed, for the next write */
    cio_task_t *writer;        /* a task waiting for the send-behind */
    struct cio__ustream *prev, *next; /* in the orphans list, once closed */
};

/* A reply queued on the ring instead of sent at once (one per fd at a
 * time): it goes to the kernel with the iteration's other entries. */
struct behind {
    struct cio__uring_op base; /* the send's completion */
    struct cio__ustream *s;    /* its record: right after base */
    struct behind *next;       /* in the spare list, once done */
    unsigned n;                /* bytes to send */
    char data[CIO__PBUF_SIZE]; /* a copy: the caller's buffer is theirs */
};

struct cio__ustreams {
    struct cio__ustream **by_fd;  /* records by fd number */
    int cap;                      /* entries in by_fd */
    bool broken;                  /* the kernel refused a multishot recv */
    bool direct_writes;           /* no send-behind (CIO_URING_STREAM=recv) */
    struct cio__ustream *orphans; /* closed, their multishot still ending */
    /* Send-behind copies not in flight, most recently used first: a few
     * stay warm for every connection, where one per record would not. */
    struct behind *spare;
    uint16_t next[CIO__PBUF_COUNT]; /* buffer queues: next id, or NONE */
    uint16_t len[CIO__PBUF_COUNT];  /* bytes in each queued buffer */
};

static struct cio__ustream *lookup(struct cio__hub *hub, int fd)
{
    struct cio__ustreams *ss = hub ? cio__io(hub)->streams : NULL;
    return ss && fd >= 0 && fd < ss->cap ? ss->by_fd[fd] : NULL;
}

/* Frees a closed record once its multishot and send have ended. */
static void orphan_free(struct cio__ustream *s)
{
    struct cio__ustreams *ss = cio__io(s->hub)->streams;
    if (s->armed || s->sending)
        return;
    free(s->sb);
    if (s->prev)
        s->prev->next = s->next;
    else if (ss->orphans == s)
        ss->orphans = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

static void unlink_live(struct cio__ustream *s)
{
    struct cio__hub *hub = s->hub;
    cio__io(hub)->streams->by_fd[s->fd] = NULL;
    struct cio__fd *f = cio__fd_at(hub, s->fd);
    if (f) /* it ended for a reason that would end it again */
        f->stream = CIO__FD_NOSTREAM;
    s->fd = -1;
}

/* Gives every queued buffer back to the ring. */
static void release(struct cio__ustream *s)
{
    struct cio__ustreams *ss = cio__io(s->hub)->streams;
    for (uint16_t b = s->head; b != NONE;) {
        uint16_t nb = ss->next[b];
        cio__uring_pbuf_put(cio__io(s->hub)->uring, b);
        b = nb;
    }
    s->head = s->tail = NONE;
    s->off = 0;
    s->queued = 0;
}

/* Frees a live record that holds nothing and has nothing in flight. */
static void settle(struct cio__ustream *s)
{
    if (s->armed || s->on || s->head != NONE || s->ended || s->reader ||
        s->sending || s->writer)
        return;
    unlink_live(s);
    free(s->sb);
    free(s);
}

static void cancel(struct cio__ustream *s)
{
    if (!s->armed || s->cancelling)
        return;
    struct io_uring_sqe *sqe = cio__uring_sqe(cio__io(s->hub)->uring, NULL);
    if (!sqe)
        return; /* it still ends with the fd's close, or its EOF */
    io_uring_prep_cancel(sqe, &s->base, 0);
    s->cancelling = true;
}

static void stream_done(struct cio__uring_op *base, int res, unsigned flags);

static void arm(struct cio__ustream *s)
{
    struct io_uring_sqe *sqe = cio__uring_sqe(cio__io(s->hub)->uring, &s->base);
    if (!sqe)
        return;
    io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    s->armed = true;
    s->cancelling = false;
}

static void enqueue(struct cio__ustream *s, unsigned bid, int n)
{
    struct cio__ustreams *ss = cio__io(s->hub)->streams;
    uint16_t b = (uint16_t)(bid % CIO__PBUF_COUNT);
    ss->next[b] = NONE;
    ss->len[b] = (uint16_t)n;
    if (s->head == NONE)
        s->head = b;
    else
        ss->next[s->tail] = b;
    s->tail = b;
    s->queued += (uint32_t)n;
}

static void stream_done(struct cio__uring_op *base, int res, unsigned flags)
{
    struct cio__ustream *s = (struct cio__ustream *)base;
    struct cio__hub *hub = s->hub;
    if (flags & IORING_CQE_F_BUFFER) {
        unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (res > 0 && s->fd >= 0)
            enqueue(s, bid, res);
        else
            cio__uring_pbuf_put(cio__io(hub)->uring, bid);
    }
    if (!(flags & IORING_CQE_F_MORE)) {
        s->armed = false;
        s->cancelling = false;
        if (res == -EINVAL && !s->ended && s->head == NONE)
            cio__io(hub)->streams->broken = true; /* no multishot recv here */
        else if (res == -ENOBUFS)
            s->nobufs = true;
        else if (res <= 0 && res != -ECANCELED) {
            s->ended = true; /* EOF or an error: after the data */
            s->end_res = res;
        }
    }
    if (s->fd < 0) { /* closed: only waited for this */
        orphan_free(s);
        return;
    }
    if (s->queued > MAX_QUEUED)
        cancel(s); /* nobody reads: stop taking buffers */
    if (s->reader) {
        /* The reader settles the record when it finds nothing there: it
         * goes on using s (wait_stream). */
        cio_task_t *t = s->reader;
        s->reader = NULL;
        cio__wake(t, 0);
        return;
    }
    if (s->head != NONE || s->ended)
        cio__fd_wake_readers(hub, s->fd); /* a readiness wait, if any */
    settle(s);
}

/* Copies queued data into iov (consumed unless peek); bytes copied. */
static size_t take(struct cio__ustream *s, const struct iovec *iov, int cnt,
                   bool peek)
{
    struct cio__ustreams *ss = cio__io(s->hub)->streams;
    size_t done = 0;
    uint16_t b = s->head, off = s->off;
    for (int i = 0; i < cnt && b != NONE; i++) {
        size_t at = 0;
        while (at < iov[i].iov_len && b != NONE) {
            size_t n = (size_t)(ss->len[b] - off);
            if (n > iov[i].iov_len - at)
                n = iov[i].iov_len - at;
            memcpy((char *)iov[i].iov_base + at,
                   (const char *)cio__uring_pbuf(cio__io(s->hub)->uring, b) +
                       off,
                   n);
            at += n;
            off = (uint16_t)(off + n);
            if (off == ss->len[b]) {
                uint16_t nb = ss->next[b];
                if (!peek)
                    cio__uring_pbuf_put(cio__io(s->hub)->uring, b);
                b = nb;
                off = 0;
            }
        }
        done += at;
    }
    if (!peek) {
        s->head = b;
        s->off = off;
        if (b == NONE)
            s->tail = NONE;
        s->queued -= (uint32_t)done;
    }
    return done;
}

/* Waits in *sp for data or its multishot's end: 0, or the wait's error.
 * *sp becomes the fd's record after the wait, or NULL: the fd may have
 * been closed meanwhile (even after the record woke the task: -EBADF, the
 * number may name another socket now). */
static int wait_stream(struct cio__hub *hub, cio_task_t *t,
                       struct cio__ustream **sp, int fd, int64_t deadline_ms)
{
    if (cio__expired(hub, deadline_ms))
        return -ETIMEDOUT;
    struct cio__fd *f = cio__fd_peek(hub, fd); /* streaming: it has one */
    uint32_t gen = f->gen;
    (*sp)->reader = t;
    t->wait_obj = *sp;          /* warmed before the task runs again */
    cio__hub_inflight(hub, +1); /* the completion will wake it */
    int rc = cio__block(t, deadline_ms, "fd read", fd);
    cio__hub_inflight(hub, -1);
    t->wait_obj = NULL;
    struct cio__ustream *s = *sp = lookup(hub, fd);
    if (s && s->reader == t) /* not woken by the record: a deadline, a kill */
        s->reader = NULL;
    return rc == 0 && f->gen != gen ? -EBADF : rc;
}

ssize_t cio__stream_read(struct cio__hub *hub, cio_task_t *t, int fd,
                         const struct iovec *iov, int cnt, int flags, bool keep,
                         int64_t deadline_ms)
{
    struct cio__ustream *s = lookup(hub, fd);
    if (!s)
        return -ENOENT;
    for (;;) {
        if (!keep && s->on) {
            s->on = false;
            cancel(s);
        }
        if (s->head != NONE) {
            ssize_t r = (ssize_t)take(s, iov, cnt, flags & MSG_PEEK);
            if (s->on && !s->armed && s->queued == 0 && !s->ended)
                arm(s); /* paused by back-pressure: go on */
            settle(s);
            return r;
        }
        if (s->ended) {
            int r = s->end_res;
            if (!(flags & MSG_PEEK)) {
                s->ended = false;
                s->on = false; /* the socket has said its last */
                settle(s);
            }
            return r;
        }
        if (s->reader && s->reader != t)
            return -ENOENT; /* a second reader: one-shot, in parallel */
        if (!s->armed) {
            if (!s->on || s->nobufs || cio__io(hub)->streams->broken) {
                s->nobufs = false;
                settle(s);
                return -ENOENT; /* the usual read, this time */
            }
            arm(s);
            if (!s->armed)
                return -ENOENT;
        }
        int rc = wait_stream(hub, t, &s, fd, deadline_ms);
        if (rc < 0)
            return rc;
        if (!s)
            return -ENOENT;
    }
}

bool cio__stream_enter(struct cio__hub *hub, struct cio__fd *f, int fd)
{
    if (f->stream == CIO__FD_NOSTREAM)
        return false;
    if (f->stream + 1 < ENTER_AFTER) {
        f->stream++;
        return false;
    }
    struct cio__ustreams *ss = cio__io(hub)->streams;
    if (!ss) {
        if (!(ss = calloc(1, sizeof *ss)))
            return false;
        const char *env = getenv("CIO_URING_STREAM");
        ss->broken = env && strcmp(env, "0") == 0; /* turned off */
        ss->direct_writes = env && strcmp(env, "recv") == 0;
        cio__io(hub)->streams = ss;
    }
    if (ss->broken || cio__uring_pbufs(cio__io(hub)->uring) < 0)
        return false;
    if (fd >= ss->cap) {
        int cap = ss->cap ? ss->cap : 64;
        while (cap <= fd)
            cap *= 2;
        struct cio__ustream **a = realloc(ss->by_fd, (size_t)cap * sizeof *a);
        if (!a)
            return false;
        memset(a + ss->cap, 0, (size_t)(cap - ss->cap) * sizeof *a);
        ss->by_fd = a;
        ss->cap = cap;
    }
    struct cio__ustream *s = calloc(1, sizeof *s);
    if (!s)
        return false;
    s->base.done = stream_done;
    s->hub = hub;
    s->fd = fd;
    s->on = true;
    s->head = s->tail = NONE;
    ss->by_fd[fd] = s;
    f->stream = CIO__FD_STREAMING;
    return true;
}

bool cio__stream_drop(struct cio__hub *hub, int fd)
{
    struct cio__ustream *s = lookup(hub, fd);
    if (!s)
        return false;
    s->on = false;
    cancel(s);
    bool ready = s->head != NONE || s->ended;
    settle(s);
    return ready;
}

void cio__stream_close(struct cio__hub *hub, int fd)
{
    struct cio__ustream *s = lookup(hub, fd);
    if (!s)
        return;
    s->on = false;
    cancel(s); /* by its own tag: the number may name another file now */
    release(s);
    s->ended = false;
    if (s->reader) {
        cio_task_t *t = s->reader;
        s->reader = NULL;
        cio__wake(t, -EBADF);
    }
    if (s->writer) {
        cio_task_t *t = s->writer;
        s->writer = NULL;
        cio__wake(t, -EBADF);
    }
    unlink_live(s);
    if (!s->armed && !s->sending) {
        free(s->sb);
        free(s);
        return;
    }
    struct cio__ustreams *ss = cio__io(hub)->streams;
    s->prev = NULL;
    s->next = ss->orphans;
    if (ss->orphans)
        ss->orphans->prev = s;
    ss->orphans = s;
}

/* At the hub's end: frees s, unless the kernel may still read its
 * send-behind's copy (a send that waits for a full socket): it is
 * cancelled, and kept (a few KiB, once) if it has not ended even so. */
static void free_record(struct cio__hub *hub, struct cio__ustream *s)
{
    if (s->sending && s->sb) {
        struct io_uring_sqe *sqe = cio__uring_sqe(cio__io(hub)->uring, NULL);
        if (sqe)
            io_uring_prep_cancel(sqe, &s->sb->base, 0);
        (void)cio__uring_flush(cio__io(hub)->uring);
        if (!cio__uring_cq_has(cio__io(hub)->uring, &s->sb->base))
            s->sb = NULL;
    }
    free(s->sb);
    free(s);
}

void cio__streams_free(struct cio__hub *hub)
{
    /* The loop is freed next without running completions: nothing
     * reaches the records after this. */
    struct cio__ustreams *ss = cio__io(hub)->streams;
    if (!ss)
        return;
    for (int fd = 0; fd < ss->cap; fd++)
        if (ss->by_fd[fd])
            free_record(hub, ss->by_fd[fd]);
    while (ss->orphans) {
        struct cio__ustream *s = ss->orphans;
        ss->orphans = s->next;
        free_record(hub, s);
    }
    while (ss->spare) {
        struct behind *b = ss->spare;
        ss->spare = b->next;
        free(b);
    }
    free(ss->by_fd);
    free(ss);
    cio__io(hub)->streams = NULL;
}

static void behind_done(struct cio__uring_op *base, int res, unsigned flags)
{
    struct behind *b = (struct behind *)base;
    struct cio__ustream *s = b->s;
    struct cio__ustreams *ss = cio__io(s->hub)->streams;
    (void)flags;
    s->sending = false;
    s->sb = NULL;
    b->next = ss->spare;
    ss->spare = b;
    if (res < 0 || (unsigned)res < b->n) /* MSG_WAITALL: short = failed */
        s->send_err = res < 0 && res != -ECANCELED ? res : -EPIPE;
    if (s->fd < 0) {
        orphan_free(s);
        return;
    }
    if (s->writer) {
        cio_task_t *t = s->writer;
        s->writer = NULL;
        cio__wake(t, 0);
    }
    settle(s);
}

ssize_t cio__stream_write(struct cio__hub *hub, cio_task_t *t, int fd,
                          const void *buf, size_t n, int64_t deadline_ms)
{
    struct cio__ustream *s = lookup(hub, fd);
    while (s && s->sending) { /* one at a time: bytes stay in order */
        if (s->writer || cio__expired(hub, deadline_ms))
            return -ETIMEDOUT;
        s->writer = t;
        cio__hub_inflight(hub, +1);
        int rc = cio__block(t, deadline_ms, "fd write", fd);
        cio__hub_inflight(hub, -1);
        if ((s = lookup(hub, fd)) && s->writer == t)
            s->writer = NULL;
        if (rc < 0)
            return rc;
    }
    if (!s)
        return -ENOENT;
    if (s->send_err) {
        int err = s->send_err;
        s->send_err = 0;
        return err;
    }
    if (!buf || !s->on || n > CIO__PBUF_SIZE || n == 0 ||
        cio__io(hub)->streams->direct_writes)
        return -ENOENT;
    struct cio__ustreams *ss = cio__io(hub)->streams;
    struct behind *b = ss->spare;
    if (b)
        ss->spare = b->next;
    else if (!(b = malloc(sizeof *b)))
        return -ENOENT;
    struct io_uring_sqe *sqe = cio__uring_sqe(cio__io(hub)->uring, &b->base);
    if (!sqe) {
        b->next = ss->spare;
        ss->spare = b;
        return -ENOENT;
    }
    s->sb = b;
    b->base.done = behind_done;
    b->s = s;
    b->n = (unsigned)n;
    memcpy(b->data, buf, n);
    io_uring_prep_send(sqe, fd, b->data, n, MSG_NOSIGNAL | MSG_WAITALL);
    s->sending = true;
    return (ssize_t)n;
}

bool cio__stream_sending(struct cio__hub *hub, int fd)
{
    struct cio__ustream *s = lookup(hub, fd);
    return s && s->sending;
}
#endif
