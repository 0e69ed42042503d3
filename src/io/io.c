/* Cooperative syscalls: try the call; on EAGAIN wait for readiness on the
 * hub; retry. Sockets use recv/send with MSG_DONTWAIT (and MSG_NOSIGNAL, so
 * a peer that went away is -EPIPE, not a signal), which needs no fcntl;
 * other fds are switched to O_NONBLOCK on use.
 *
 * A read that comes back short on a socket marks the fd drained: the next
 * read waits for readiness first instead of paying for a read that would
 * only say EAGAIN (the loop is level-triggered, so nothing is missed). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corio/io.h"
#include "common/sys.h"
#include "io/fdwait.h"
#include "io/uring_hub.h"

int cio_fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

/* O_NONBLOCK for calls that have no per-call flag (read, write, accept,
 * connect, sendfile), set once: the fd's state remembers it until
 * cio_fd_close, which spares two fcntl per call (sendfile returns every few
 * hundred KiB on a busy download). A number closed with plain close() and
 * reused may be a blocking file now: the identity check (one fstat) tells. */
static int ensure_nonblock(int fd, struct cio__fd *f)
{
    int rc = cio__fd_check(cio__hub_get(), fd, f);
    if (rc < 0 || f->nonblock)
        return rc;
    rc = cio_fd_set_nonblock(fd);
    if (rc == 0)
        f->nonblock = 1;
    return rc;
}

/* Common start of every call: the task and the fd's state. */
static inline __attribute__((always_inline)) int
io_begin(int fd, cio_task_t **t, struct cio__fd **f)
{
    int rc = cio__enter(t);
    if (rc < 0)
        return rc;
    if (fd < 0)
        return -EBADF;
    *f = cio__fd_at((*t)->hub, fd);
    return *f ? 0 : -ENOMEM;
}

/* io_begin for the calls that have no per-call non-blocking flag. */
static int io_begin_nonblock(int fd, cio_task_t **t, struct cio__fd **f)
{
    int rc = io_begin(fd, t, f);
    return rc < 0 ? rc : ensure_nonblock(fd, *f);
}

/* errno after a failed call: 0 to retry at once, 1 to wait, else -errno. */
static int io_again(int err)
{
    if (err == EINTR)
        return 0;
    if (err == EAGAIN || err == EWOULDBLOCK)
        return 1;
    return -err;
}

/* A read-side call on fd: sock() for sockets, plain() for the rest. */
enum io_dir { IO_IN, IO_OUT };

struct io_op {
    int fd;
    enum io_dir dir;
    void *buf; /* read/write/recv/send buffer */
    size_t n;
    const struct iovec *iov; /* readv/writev */
    int iovcnt;
    int flags;             /* recv/send flags */
    struct sockaddr *from; /* recvfrom */
    socklen_t *fromlen;
    const struct sockaddr *to; /* sendto */
    socklen_t tolen;
    int kind; /* 0 read/write, 1 vector, 2 recv/send, 3 to/from */
};

/* The call on a socket: its count or -errno. */
static inline __attribute__((always_inline)) ssize_t
op_sock(const struct io_op *op)
{
    int fl = op->flags | MSG_DONTWAIT | (op->dir == IO_OUT ? MSG_NOSIGNAL : 0);
    ssize_t r;
    switch (op->kind) {
    case 1: {
        struct msghdr m = {.msg_iov = (struct iovec *)op->iov,
                           .msg_iovlen = (size_t)op->iovcnt};
        r = op->dir == IO_IN ? recvmsg(op->fd, &m, fl)
                             : sendmsg(op->fd, &m, fl);
        break;
    }
    case 3:
        r = op->dir == IO_IN
                ? recvfrom(op->fd, op->buf, op->n, fl, op->from, op->fromlen)
                : sendto(op->fd, op->buf, op->n, fl, op->to, op->tolen);
        break;
    default:
        return op->dir == IO_IN ? cio__sys_recv(op->fd, op->buf, op->n, fl)
                                : cio__sys_send(op->fd, op->buf, op->n, fl);
    }
    return r < 0 ? -errno : r;
}

/* The call on another kind of file: its count or -errno. */
static inline __attribute__((always_inline)) ssize_t
op_plain(const struct io_op *op, struct cio__fd *f)
{
    int rc = ensure_nonblock(op->fd, f);
    if (rc < 0)
        return rc;
    if (op->kind == 1) {
        ssize_t r = op->dir == IO_IN ? readv(op->fd, op->iov, op->iovcnt)
                                     : writev(op->fd, op->iov, op->iovcnt);
        return r < 0 ? -errno : r;
    }
    return op->dir == IO_IN ? cio__sys_read(op->fd, op->buf, op->n)
                            : cio__sys_write(op->fd, op->buf, op->n);
}

/* A read, write, recv or send as an op. kd: the kind, | 4 for writes. */
static inline struct io_op simple_op(int fd, void *buf, size_t n, int flags,
                                     int kd)
{
    return (struct io_op){.fd = fd,
                          .dir = kd & 4 ? IO_OUT : IO_IN,
                          .buf = buf,
                          .n = n,
                          .flags = flags,
                          .kind = kd & 3};
}

static size_t op_len(const struct io_op *op)
{
    if (op->kind != 1)
        return op->n;
    size_t n = 0;
    for (int i = 0; i < op->iovcnt; i++)
        n += op->iov[i].iov_len;
    return n;
}

#ifdef CIO_HAVE_URING
/* stream_in for a plain read into one buffer. */
static __attribute__((noinline)) ssize_t
stream_in_buf(cio_task_t *t, int fd, void *buf, size_t n, int64_t deadline_ms)
{
    struct iovec one = {.iov_base = buf, .iov_len = n};
    return cio__stream_read(t->hub, t, fd, &one, 1, 0, true, deadline_ms);
}

/* Not done on the ring: the call goes the readiness way (io_run). */
#define IO_NOT_RING (-(ssize_t)4096 - 1)

/* A socket read of up to a provided buffer, on the ring: the kernel
 * picks the buffer (none of the task's memory is lent to it), a run of
 * drained reads makes the socket stream. -ENOBUFS: read another way. Its
 * own small frame: it is where a task waits for data that is slow to come
 * (with copied stacks, the frames are the waiting task's memory). */
static __attribute__((noinline)) ssize_t
ring_read_pbuf(cio_task_t *t, struct cio__fd *f, int fd, void *buf, size_t n,
               int flags, int64_t deadline_ms)
{
    struct cio__hub *hub = t->hub;
    if (f->stream < CIO__FD_NOSTREAM) {
        if (!f->drained)
            f->stream = 0; /* not a run of drained reads */
        else if (flags == 0 && cio__stream_enter(hub, f, fd)) {
            ssize_t r = stream_in_buf(t, fd, buf, n, deadline_ms);
            if (r != -ENOENT)
                return r;
        }
    }
    /* A short read drained the socket: the next one waits first. */
    ssize_t r = cio__uring_recv_pbuf(hub, t, fd, buf, n, flags, f->drained,
                                     deadline_ms);
    if (r == -ENOTSOCK) {
        f->notsock = 1;
        return -ENOBUFS;
    }
    if (r != -ENOBUFS)
        f->drained = r > 0 && (size_t)r < n;
    return r;
}

/* The call as one operation on the hub's ring (completion mode), or
 * IO_NOT_RING. */
static ssize_t io_ring(cio_task_t *t, struct cio__fd *f, const struct io_op *op,
                       int64_t deadline_ms)
{
    struct cio__hub *hub = t->hub;
    bool in = op->dir == IO_IN;
    /* The ring waits for the socket itself: no MSG_DONTWAIT. */
    int fl = (op->flags & ~MSG_DONTWAIT) | (in ? 0 : MSG_NOSIGNAL);
    /* The kernel would keep pointers into frames that a shared stack
     * moves, for as long as the peer takes: the readiness way instead.
     * So too every write to a socket: tried at once, it is out before
     * the task goes on, where on the ring it waited for the hub's next
     * loop iteration, behind every task of the round (a reply behind a
     * hundred downloads' sendfile calls: milliseconds). A socket that
     * streams has its replies copied onto the ring (send-behind). */
    if (t->copied || (!in && !f->notsock && !f->nopoll))
        return IO_NOT_RING;
    struct io_uring_sqe *sqe = cio__uop_sqe(hub, t);
    if (!sqe)
        return -EBUSY;
    struct msghdr m = {.msg_iov = (struct iovec *)op->iov,
                       .msg_iovlen = (size_t)op->iovcnt};
    struct iovec one = {.iov_base = op->buf, .iov_len = op->n};
    switch (op->kind) {
    case 0:
        if (in)
            io_uring_prep_read(sqe, op->fd, op->buf, (unsigned)op->n, -1);
        else
            io_uring_prep_write(sqe, op->fd, op->buf, (unsigned)op->n, -1);
        break;
    case 1:
        if (in)
            io_uring_prep_readv(sqe, op->fd, op->iov, (unsigned)op->iovcnt, -1);
        else
            io_uring_prep_writev(sqe, op->fd, op->iov, (unsigned)op->iovcnt,
                                 -1);
        break;
    case 2:
        if (in)
            io_uring_prep_recv(sqe, op->fd, op->buf, op->n, fl);
        else
            io_uring_prep_send(sqe, op->fd, op->buf, op->n, fl);
        break;
    default:
        m.msg_iov = &one;
        m.msg_iovlen = 1;
        if (in) {
            m.msg_name = op->from;
            m.msg_namelen = op->fromlen ? *op->fromlen : 0;
            io_uring_prep_recvmsg(sqe, op->fd, &m, (unsigned)fl);
        } else {
            m.msg_name = (void *)op->to;
            m.msg_namelen = op->tolen;
            io_uring_prep_sendmsg(sqe, op->fd, &m, (unsigned)fl);
        }
        break;
    }
    int rc = cio__uop_wait(hub, t, deadline_ms, in ? "fd read" : "fd write",
                           op->fd, true);
    if (op->kind == 3 && in && rc >= 0 && op->fromlen)
        *op->fromlen = m.msg_namelen;
    return rc;
}

#endif

#ifdef CIO_HAVE_URING
/* A read of a streaming fd (uring_stream.c): what its multishot took comes
 * first; a read with flags or an address ends streaming. -ENOENT: read as
 * usual. */
static ssize_t stream_in(cio_task_t *t, const struct io_op *op,
                         int64_t deadline_ms)
{
    struct iovec one = {.iov_base = op->buf, .iov_len = op->n};
    bool vec = op->kind == 1;
    int fl = op->flags & ~MSG_DONTWAIT;
    ssize_t r = cio__stream_read(t->hub, t, op->fd, vec ? op->iov : &one,
                                 vec ? op->iovcnt : 1, fl,
                                 op->kind != 3 && fl == 0, deadline_ms);
    if (op->kind == 3 && r >= 0 && op->fromlen)
        *op->fromlen = 0; /* a stream socket has no address to give */
    if (r > 0 && (fl & MSG_WAITALL) && !vec && (size_t)r < op->n) {
        /* The rest as asked; what came first is not lost to an error. */
        ssize_t more = cio_sock_recv(op->fd, (char *)op->buf + r,
                                     op->n - (size_t)r, op->flags, deadline_ms);
        if (more > 0)
            r += more;
    }
    return r;
}
#endif

#ifdef CIO_HAVE_URING
/* A plain read or write (no flags, no address, one buffer): io_run gives
 * it to a streaming socket's record itself. */
static inline bool io_plain(const struct io_op *op)
{
    return op->kind == 0 || (op->kind == 2 && !op->flags);
}

/* The call on the io_uring backend, or IO_NOT_RING. */
static __attribute__((noinline)) ssize_t io_run_ring(cio_task_t *t,
                                                     struct cio__fd *f,
                                                     const struct io_op *op,
                                                     int64_t deadline_ms)
{
    if (!io_plain(op) && (f->stream & CIO__FD_STREAMING)) {
        /* A write waits for the record's send in flight, then goes on. */
        ssize_t r = op->dir == IO_IN
                        ? stream_in(t, op, deadline_ms)
                        : cio__stream_write(t->hub, t, op->fd, NULL, op->n,
                                            deadline_ms);
        if (r != -ENOENT)
            return r;
    }
    if (cio__expired(t->hub, deadline_ms))
        return IO_NOT_RING; /* one try without waiting */
    return io_ring(t, f, op, deadline_ms);
}

/* io_run_ring from scalars (io_run_ring_simple's second half). */
static __attribute__((noinline)) ssize_t
io_run_ring_op(cio_task_t *t, struct cio__fd *f, int fd, void *buf, size_t n,
               int flags, int kd, int64_t deadline_ms)
{
    struct io_op op = simple_op(fd, buf, n, flags, kd);
    return io_run_ring(t, f, &op, deadline_ms);
}

/* io_run_ring for read, write, recv and send, from scalars: an op whose
 * address io_run took would be built in memory on every call of every
 * backend. A small socket read takes a provided buffer, from a frame of
 * its own. kd: the kind, | 4 for writes. */
static __attribute__((noinline)) ssize_t
io_run_ring_simple(cio_task_t *t, struct cio__fd *f, int fd, void *buf,
                   size_t n, int flags, int kd, int64_t deadline_ms)
{
    if (!(kd & 4) && n <= CIO__PBUF_SIZE && !f->notsock &&
        !cio__expired(t->hub, deadline_ms)) {
        ssize_t r = ring_read_pbuf(t, f, fd, buf, n, flags & ~MSG_DONTWAIT,
                                   deadline_ms);
        if (r != -ENOBUFS)
            return r;
    }
    return io_run_ring_op(t, f, fd, buf, n, flags, kd, deadline_ms);
}
#endif

/* Inlined into each call, whose constant op folds its branches away.
 * blocked: the call was just tried and would have blocked. */
static inline __attribute__((always_inline)) ssize_t
io_run(struct io_op *op, int64_t deadline_ms, bool blocked)
{
    cio_task_t *t;
    struct cio__fd *f;
    int rc = io_begin(op->fd, &t, &f);
    if (rc < 0)
        return rc;
#ifdef CIO_HAVE_URING
    if (cio__io(t->hub)->uring) {
        if (io_plain(op) && (f->stream & CIO__FD_STREAMING)) {
            ssize_t r =
                op->dir == IO_IN
                    ? stream_in_buf(t, op->fd, op->buf, op->n, deadline_ms)
                    : cio__stream_write(t->hub, t, op->fd, op->buf, op->n,
                                        deadline_ms);
            if (r != -ENOENT)
                return r;
        }
        ssize_t r = op->kind == 0 || op->kind == 2
                        ? io_run_ring_simple(
                              t, f, op->fd, op->buf, op->n, op->flags,
                              op->kind | (op->dir == IO_OUT) << 2, deadline_ms)
                        : io_run_ring(t, f, op, deadline_ms);
        if (r != IO_NOT_RING)
            return r;
    }
#endif
    /* recv/send flags and addresses only make sense on sockets. */
    bool sock_only = op->kind >= 2;
    int events = op->dir == IO_IN ? CIO_READABLE : CIO_WRITABLE;
    /* The fd's state is read once, here: it goes cold while we wait. */
    bool plain = f->notsock && !sock_only;
    /* Just tried and out of time, it is over; just tried, it waits; after
     * a short read, it waits only with time to. */
    bool expired = cio__expired(t->hub, deadline_ms);
    if (blocked && expired)
        return -ETIMEDOUT;
    bool wait = blocked ||
                (op->dir == IO_IN && op->kind != 3 && f->drained && !expired);
    for (;;) {
        if (!wait) {
            ssize_t r = plain ? op_plain(op, f) : op_sock(op);
            if (r >= 0) {
                if (op->dir == IO_IN && !plain && r > 0 &&
                    (size_t)r < op_len(op))
                    f->drained = 1;
                return r;
            }
            if (r == -ENOTSOCK && !sock_only && !plain) {
                f->notsock = 1;
                plain = true;
                continue;
            }
            rc = io_again((int)-r);
            if (rc == 0)
                continue;
            if (rc < 0)
                return rc;
        }
        /* Woken with 0, the fd is ready: its event cleared drained. */
        uint32_t gen = f->gen;
        rc = cio__fd_wait_self(f, op->fd, events, deadline_ms);
        if (rc == 0)
            rc = cio__fd_woken(op->fd, events, deadline_ms);
        if (rc < 0)
            return rc;
        if (f->gen != gen) /* closed since its event: another file now */
            return -EBADF;
        wait = false;
    }
}

/* The state of fd when a read, write, recv or send on it may take the
 * short way: from a task with no alert on a readiness hub, on its own
 * coroutine (hub/task.c keeps the mark), fd a socket with a state; else
 * NULL. A marked coroutine that runs is its hub's current task: only the
 * hub resumes a task's coroutine (a program that switches to one by hand
 * has broken its hub already). */
static inline __attribute__((always_inline)) struct cio__fd *io_short(int fd)
{
    cio_coro_t *co = cio__tls_current;
    if (__builtin_expect(!co || !cio__coro_flag(co), 0))
        return NULL;
    struct cio__fd *f = cio__fd_peek(cio__tls_hub, fd);
    if (__builtin_expect(!f || f->notsock, 0))
        return NULL;
    return f;
}

/* The general way of each call below: io_run from scalars, kd the kind
 * (simple_op), | 4 for writes. tried: the call was just tried and would
 * have blocked. */
typedef ssize_t io_slow_fn(int fd, void *buf, size_t n, int flags,
                           int64_t deadline_ms, bool tried);
#define IO_SLOW_FN(name, kd)                                                   \
    static __attribute__((noinline)) ssize_t name(                             \
        int fd, void *buf, size_t n, int flags, int64_t deadline_ms,           \
        bool tried)                                                            \
    {                                                                          \
        struct io_op op = simple_op(fd, buf, n, flags, kd);                    \
        return io_run(&op, deadline_ms, tried);                                \
    }
IO_SLOW_FN(read_slow, 0)
IO_SLOW_FN(write_slow, 4)
IO_SLOW_FN(recv_slow, 2)
IO_SLOW_FN(send_slow, 2 | 4)

/* A socket read that waits first, with no deadline (f: fd's state, from
 * io_short): the frame of a task waiting for data, and all it keeps. One
 * per kind, flags and slow constant, so that it keeps less. */
static inline __attribute__((always_inline)) ssize_t
io_wait(int fd, void *buf, size_t n, int flags, struct cio__fd *f,
        io_slow_fn *slow)
{
    uint32_t gen = f->gen;
    int rc = cio__fd_wait_read(f, fd);
    if (rc == 0)
        rc = cio__fd_woken(fd, CIO_READABLE, -1);
    if (rc < 0)
        return rc;
    if (__builtin_expect(f->gen != gen, 0))
        return -EBADF; /* closed since its event: another file now */
    /* Woken by the fd: io_short's checks held before the wait, and a kill
     * since the next call finds. */
    ssize_t r = cio__sys_recv(fd, buf, n, flags | MSG_DONTWAIT);
    if (__builtin_expect(r >= 0, 1)) {
        if (r > 0 && (size_t)r < n)
            f->drained = 1;
        return r;
    }
    if (r == -EAGAIN || r == -EINTR || r == -ENOTSOCK)
        return slow(fd, buf, n, flags, -1, r == -EAGAIN);
    return r;
}

static __attribute__((noinline)) ssize_t read_wait(int fd, void *buf, size_t n,
                                                   int flags, struct cio__fd *f)
{
    (void)flags;
    return io_wait(fd, buf, n, 0, f, read_slow);
}

static __attribute__((noinline)) ssize_t recv_wait(int fd, void *buf, size_t n,
                                                   int flags, struct cio__fd *f)
{
    return io_wait(fd, buf, n, flags, f, recv_slow);
}

/* The system call of a read, write, recv or send on the short way, made
 * directly (common/sys.h), and where its failure goes. */
static inline __attribute__((always_inline)) ssize_t
io_now(int fd, void *buf, size_t n, int flags, int kd, int64_t deadline_ms,
       struct cio__fd *f, io_slow_fn *slow)
{
    bool in = !(kd & 4);
    int fl = flags | MSG_DONTWAIT | (in ? 0 : MSG_NOSIGNAL);
    ssize_t r = in ? cio__sys_recv(fd, buf, n, fl)
                   : cio__sys_send(fd, (const void *)buf, n, fl);
    if (__builtin_expect(r >= 0, 1)) {
        if (in && r > 0 && (size_t)r < n)
            f->drained = 1; /* a short read: the next one waits first */
        return r;
    }
    if (r == -EAGAIN && in && deadline_ms < 0) {
        f->drained = 1; /* as a short read: wait in a frame of its own */
        return kd & 2 ? recv_wait(fd, buf, n, flags, f)
                      : read_wait(fd, buf, n, flags, f);
    }
    if (r == -EAGAIN || r == -EINTR || r == -ENOTSOCK)
        return slow(fd, buf, n, flags, deadline_ms, r == -EAGAIN);
    return r;
}

/* Reads on the short way that did not come up short last time: out of
 * line, so that the read that waits (the common one) saves no registers
 * for the system call. */
static __attribute__((noinline)) ssize_t read_now(int fd, void *buf, size_t n,
                                                  int flags,
                                                  int64_t deadline_ms,
                                                  struct cio__fd *f)
{
    (void)flags;
    return io_now(fd, buf, n, 0, 0, deadline_ms, f, read_slow);
}

static __attribute__((noinline)) ssize_t recv_now(int fd, void *buf, size_t n,
                                                  int flags,
                                                  int64_t deadline_ms,
                                                  struct cio__fd *f)
{
    return io_now(fd, buf, n, flags, 2, deadline_ms, f, recv_slow);
}

/* read, write, recv or send (kd as simple_op, | 4 for writes; slow its
 * general way). A read after a short one waits first. */
static inline __attribute__((always_inline)) ssize_t
io_call(int fd, void *buf, size_t n, int flags, int kd, int64_t deadline_ms,
        io_slow_fn *slow)
{
    struct cio__fd *f = io_short(fd);
    if (__builtin_expect(!f, 0))
        return slow(fd, buf, n, flags, deadline_ms, false);
    if (kd & 4)
        return io_now(fd, buf, n, flags, kd, deadline_ms, f, slow);
    if (f->drained) /* the last read came up short */
        return deadline_ms < 0 ? (kd & 2 ? recv_wait(fd, buf, n, flags, f)
                                         : read_wait(fd, buf, n, flags, f))
                               : slow(fd, buf, n, flags, deadline_ms, false);
    return kd & 2 ? recv_now(fd, buf, n, flags, deadline_ms, f)
                  : read_now(fd, buf, n, flags, deadline_ms, f);
}

ssize_t cio_fd_read(int fd, void *buf, size_t n, int64_t deadline_ms)
{
    return io_call(fd, buf, n, 0, 0, deadline_ms, read_slow);
}

ssize_t cio_fd_write(int fd, const void *buf, size_t n, int64_t deadline_ms)
{
    return io_call(fd, (void *)buf, n, 0, 4, deadline_ms, write_slow);
}

ssize_t cio_fd_readv(int fd, const struct iovec *iov, int iovcnt,
                     int64_t deadline_ms)
{
    struct io_op op = {
        .fd = fd, .dir = IO_IN, .iov = iov, .iovcnt = iovcnt, .kind = 1};
    return io_run(&op, deadline_ms, false);
}

ssize_t cio_fd_writev(int fd, const struct iovec *iov, int iovcnt,
                      int64_t deadline_ms)
{
    struct io_op op = {
        .fd = fd, .dir = IO_OUT, .iov = iov, .iovcnt = iovcnt, .kind = 1};
    return io_run(&op, deadline_ms, false);
}

ssize_t cio_sock_recv(int fd, void *buf, size_t n, int flags,
                      int64_t deadline_ms)
{
    return io_call(fd, buf, n, flags, 2, deadline_ms, recv_slow);
}

ssize_t cio_sock_send(int fd, const void *buf, size_t n, int flags,
                      int64_t deadline_ms)
{
    return io_call(fd, (void *)buf, n, flags, 2 | 4, deadline_ms, send_slow);
}

ssize_t cio_sock_recvfrom(int fd, void *buf, size_t n, int flags,
                          struct sockaddr *from, socklen_t *fromlen,
                          int64_t deadline_ms)
{
    struct io_op op = {.fd = fd,
                       .dir = IO_IN,
                       .buf = buf,
                       .n = n,
                       .flags = flags,
                       .from = from,
                       .fromlen = fromlen,
                       .kind = 3};
    return io_run(&op, deadline_ms, false);
}

ssize_t cio_sock_sendto(int fd, const void *buf, size_t n, int flags,
                        const struct sockaddr *to, socklen_t tolen,
                        int64_t deadline_ms)
{
    struct io_op op = {.fd = fd,
                       .dir = IO_OUT,
                       .buf = (void *)buf,
                       .n = n,
                       .flags = flags,
                       .to = to,
                       .tolen = tolen,
                       .kind = 3};
    return io_run(&op, deadline_ms, false);
}

ssize_t cio_fd_read_full(int fd, void *buf, size_t n, int64_t deadline_ms)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = cio_fd_read(fd, (char *)buf + done, n - done, deadline_ms);
        if (r < 0)
            return r;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

ssize_t cio_fd_write_all(int fd, const void *buf, size_t n, int64_t deadline_ms)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r =
            cio_fd_write(fd, (const char *)buf + done, n - done, deadline_ms);
        if (r < 0)
            return r;
        done += (size_t)r;
    }
    return (ssize_t)n;
}

int cio_sock_accept(int fd, struct sockaddr *addr, socklen_t *addrlen,
                    int64_t deadline_ms)
{
    cio_task_t *t;
    struct cio__fd *f;
    int rc = io_begin_nonblock(fd, &t, &f);
    if (rc < 0)
        return rc;
#ifdef CIO_HAVE_URING
    /* The address is written at the end: not into a moving frame. */
    if (cio__io(t->hub)->uring && !cio__expired(t->hub, deadline_ms) &&
        !(t->copied && addr)) {
        struct io_uring_sqe *sqe = cio__uop_sqe(t->hub, t);
        if (!sqe)
            return -EBUSY;
        io_uring_prep_accept(sqe, fd, addr, addrlen,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
        int c = cio__uop_wait(t->hub, t, deadline_ms, "accept", fd, true);
        if (c >= 0)
            cio__fd_fresh(c);
        return c;
    }
#endif
    for (;;) {
        int c = accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) {
            cio__fd_fresh(c);
            return c;
        }
        if (errno == ECONNABORTED)
            continue;
        rc = io_again(errno);
        if (rc == 0)
            continue;
        if (rc < 0)
            return rc;
        rc = cio__fd_wait(t->hub, t, fd, CIO_READABLE, deadline_ms);
        if (rc < 0)
            return rc;
    }
}

int cio_sock_connect(int fd, const struct sockaddr *addr, socklen_t addrlen,
                     int64_t deadline_ms)
{
    cio_task_t *t;
    struct cio__fd *f;
    int rc = io_begin_nonblock(fd, &t, &f);
    if (rc < 0)
        return rc;
#ifdef CIO_HAVE_URING
    /* A kernel may read the address late: not from a moving frame. */
    if (cio__io(t->hub)->uring && !cio__expired(t->hub, deadline_ms) &&
        !t->copied) {
        struct io_uring_sqe *sqe = cio__uop_sqe(t->hub, t);
        if (!sqe)
            return -EBUSY;
        io_uring_prep_connect(sqe, fd, addr, addrlen);
        return cio__uop_wait(t->hub, t, deadline_ms, "connect", fd, true);
    }
#endif
    if (connect(fd, addr, addrlen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return -errno;
    rc = cio__fd_wait(t->hub, t, fd, CIO_WRITABLE, deadline_ms);
    if (rc < 0)
        return rc;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

ssize_t cio_fd_sendfile(int out_fd, int in_fd, off_t *offset, size_t count,
                        int64_t deadline_ms)
{
    cio_task_t *t;
    struct cio__fd *f;
    int rc = io_begin_nonblock(out_fd, &t, &f);
    if (rc < 0)
        return rc;
#ifdef CIO_HAVE_URING
    /* After a reply queued on the ring, not before it. */
    if ((f->stream & CIO__FD_STREAMING) &&
        (rc = (int)cio__stream_write(t->hub, t, out_fd, NULL, 0,
                                     deadline_ms)) != -ENOENT)
        return rc;
#endif
    for (;;) {
        ssize_t r = sendfile(out_fd, in_fd, offset, count);
        if (r >= 0)
            return r;
        rc = io_again(errno);
        if (rc == 0)
            continue;
        if (rc < 0)
            return rc;
        rc = cio__fd_wait(t->hub, t, out_fd, CIO_WRITABLE, deadline_ms);
        if (rc < 0)
            return rc;
    }
}
