/* read, write, readv, writev, recv*, send* for tasks.
 *
 * On a socket a blocking call is replayed with MSG_DONTWAIT, which makes
 * one call non-blocking without touching the fd's flags (shared with other
 * threads and processes). A blocking send on a stream sends everything
 * (as the kernel does), and MSG_WAITALL waits for everything, so the
 * replay loops until done. On anything else (pipe, tty, file) the call
 * waits until poll says ready, then runs as it is: tasks of one thread
 * never run at the same time, so nothing can take the data in between.
 * read() on a datagram socket takes that path too, because read() leaves a
 * zero-length datagram queued where recv() would consume it. A call that
 * passes MSG_DONTWAIT itself asked not to block: it runs as it is (corio's
 * own cooperative IO calls recv/send that way). */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>

#include "corio/hub.h"
#include "corio/io.h"
#include "hook.h"

/* Repeats `call` (a non-blocking attempt) while it says EAGAIN and waiting
 * succeeds; r ends as the call's result or -1 with errno set. */
#define CIO__RETRY(r, w, call)                                                 \
    do {                                                                       \
        (r) = (call);                                                          \
    } while ((r) < 0 && errno == EAGAIN && cio__wait_block(w) == 0)

extern void __chk_fail(void) __attribute__((__noreturn__));

static bool is_socket(int kind)
{
    return kind == CIO__FD_STREAM || kind == CIO__FD_DGRAM;
}

/* A socket call said ENOTSOCK: the cached kind was stale (the fd was
 * closed and reused behind our back). Forget it; true if so. */
static bool stale(int fd, ssize_t r)
{
    if (r >= 0 || errno != ENOTSOCK)
        return false;
    cio__fd_set_kind(fd, CIO__FD_UNKNOWN);
    return true;
}

/* Waits until poll says fd is ready for events (or the fd is non-blocking
 * by the program's choice: the real call then answers). 0 or -1/errno. */
static int probe_wait(int fd, short events)
{
    struct cio__wait w =
        CIO__WAIT_INIT(fd, events == POLLOUT ? CIO_WRITABLE : CIO_READABLE,
                       events == POLLOUT ? SO_SNDTIMEO : SO_RCVTIMEO);
    while (!cio__probe(fd, events)) {
        if (cio__wait_nonblock(&w))
            return 0;
        if (cio__wait_block(&w) < 0)
            return -1;
    }
    return 0;
}

/* Partial progress wins over a later error, as with the real calls. */
static ssize_t progress(size_t total, ssize_t r)
{
    return total > 0 ? (ssize_t)total : r;
}

/* recvmsg with MSG_DONTWAIT, after the data corio's own streaming reads
 * (io_uring) already took off the socket, which comes first. */
static ssize_t recvmsg_now(int fd, struct msghdr *m, int flags)
{
    ssize_t r = cio__stream_take(fd, m->msg_iov, (int)m->msg_iovlen, flags);
    if (r == -ENOENT)
        return CIO__REAL(recvmsg)(fd, m, flags | MSG_DONTWAIT);
    if (r >= 0) { /* a stream: no address, no ancillary data */
        m->msg_namelen = 0;
        m->msg_controllen = 0;
        m->msg_flags = 0;
        return r;
    }
    errno = r == -ETIMEDOUT ? EAGAIN : (int)-r;
    return -1;
}

static ssize_t recv_now(int fd, void *buf, size_t n)
{
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    return recvmsg_now(fd, &m, 0);
}

/* A blocking recvmsg on a socket; MSG_WAITALL on a stream fills every
 * buffer unless EOF, an error, the timeout or a wake-up comes first. */
static ssize_t sock_recvmsg(int fd, struct msghdr *msg, int flags, int kind)
{
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_READABLE, SO_RCVTIMEO);
    ssize_t r;
    if (kind != CIO__FD_STREAM || !(flags & MSG_WAITALL) ||
        (flags & MSG_PEEK) || msg->msg_iovlen > IOV_MAX) {
        CIO__RETRY(r, &w, recvmsg_now(fd, msg, flags));
        return r;
    }
    struct cio__iovcur cur;
    if (cio__iovcur_init(&cur, msg->msg_iov, (int)msg->msg_iovlen) < 0)
        return -1;
    struct msghdr m = *msg;
    size_t total = 0;
    flags = (flags & ~MSG_WAITALL) | MSG_DONTWAIT;
    msg->msg_flags = 0;
    for (;;) {
        m.msg_iov = cur.iov;
        m.msg_iovlen = (size_t)cur.cnt;
        r = recvmsg_now(fd, &m, flags);
        if (r > 0) {
            if (total == 0) { /* address and ancillary data come once */
                msg->msg_namelen = m.msg_namelen;
                msg->msg_controllen = m.msg_controllen;
                m.msg_name = NULL;
                m.msg_namelen = 0;
                m.msg_control = NULL;
                m.msg_controllen = 0;
            }
            msg->msg_flags |= m.msg_flags;
            total += (size_t)r;
            if (!cio__iovcur_advance(&cur, (size_t)r) || cio__wait_nonblock(&w))
                break;
            continue;
        }
        if (r == 0 || errno != EAGAIN || cio__wait_block(&w) < 0)
            break;
    }
    cio__iovcur_free(&cur);
    return progress(total, r);
}

/* A blocking sendmsg on a socket: on a stream, every byte (or a partial
 * count when an error, the timeout or a wake-up stops it). */
static ssize_t sock_sendmsg(int fd, const struct msghdr *msg, int flags,
                            int kind)
{
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_WRITABLE, SO_SNDTIMEO);
    ssize_t r = cio__stream_flush(fd); /* corio's own queued reply first */
    if (r < 0)
        return cio__fail((int)-r);
    if (kind != CIO__FD_STREAM || msg->msg_iovlen > IOV_MAX) {
        CIO__RETRY(r, &w, CIO__REAL(sendmsg)(fd, msg, flags | MSG_DONTWAIT));
        return r;
    }
    struct cio__iovcur cur;
    if (cio__iovcur_init(&cur, msg->msg_iov, (int)msg->msg_iovlen) < 0)
        return -1;
    struct msghdr m = *msg;
    size_t total = 0;
    for (;;) {
        m.msg_iov = cur.iov;
        m.msg_iovlen = (size_t)cur.cnt;
        r = CIO__REAL(sendmsg)(fd, &m, flags | MSG_DONTWAIT);
        if (r >= 0) {
            /* Ancillary data went with the first bytes. */
            m.msg_control = NULL;
            m.msg_controllen = 0;
            total += (size_t)r;
            if (r == 0 || !cio__iovcur_advance(&cur, (size_t)r) ||
                cio__wait_nonblock(&w))
                break;
            continue;
        }
        if (errno != EAGAIN || cio__wait_block(&w) < 0)
            break;
    }
    cio__iovcur_free(&cur);
    return progress(total, r);
}

/* A blocking write to a pipe: all of it, in PIPE_BUF pieces, each written
 * once poll says there is room (a piece that size then never blocks). */
static ssize_t pipe_writev(int fd, const struct iovec *iov, int cnt)
{
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_WRITABLE, 0);
    if (cio__wait_nonblock(&w) || cnt <= 0 || cnt > IOV_MAX)
        return CIO__REAL(writev)(fd, iov, cnt);
    struct cio__iovcur cur;
    if (cio__iovcur_init(&cur, iov, cnt) < 0)
        return -1;
    size_t total = 0;
    ssize_t r = 0;
    do {
        if (probe_wait(fd, POLLOUT) < 0) {
            r = -1;
            break;
        }
        int n = 0;
        size_t room = PIPE_BUF, cut_len = 0;
        while (n < cur.cnt && room > 0) {
            if (cur.iov[n].iov_len > room) {
                cut_len = cur.iov[n].iov_len;
                cur.iov[n].iov_len = room;
            }
            room -= cur.iov[n++].iov_len;
        }
        r = CIO__REAL(writev)(fd, cur.iov, n);
        if (cut_len != 0)
            cur.iov[n - 1].iov_len = cut_len;
        if (r <= 0)
            break;
        total += (size_t)r;
    } while (cio__iovcur_advance(&cur, (size_t)r));
    cio__iovcur_free(&cur);
    return progress(total, r);
}

/* write/writev/send on any fd, in a task. */
static ssize_t hooked_writev(int fd, const struct iovec *iov, int cnt,
                             int flags)
{
    for (;;) {
        int kind = cio__fd_kind(fd);
        if (is_socket(kind)) {
            struct msghdr m = {.msg_iov = (struct iovec *)iov,
                               .msg_iovlen = (size_t)(cnt < 0 ? 0 : cnt)};
            if (cnt < 0 || cnt > IOV_MAX)
                return CIO__REAL(writev)(fd, iov, cnt); /* EINVAL */
            ssize_t r = sock_sendmsg(fd, &m, flags, kind);
            if (!stale(fd, r))
                return r;
            continue;
        }
        if (kind == CIO__FD_FIFO)
            return pipe_writev(fd, iov, cnt);
        if (probe_wait(fd, POLLOUT) < 0)
            return -1;
        return CIO__REAL(writev)(fd, iov, cnt);
    }
}

/* read/readv on any fd, in a task. */
static ssize_t hooked_readv(int fd, const struct iovec *iov, int cnt)
{
    if (cio__fd_kind(fd) == CIO__FD_STREAM && cnt >= 0 && cnt <= IOV_MAX) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov,
                           .msg_iovlen = (size_t)cnt};
        ssize_t r = sock_recvmsg(fd, &m, 0, CIO__FD_STREAM);
        if (!stale(fd, r))
            return r;
    }
    if (probe_wait(fd, POLLIN) < 0)
        return -1;
    return CIO__REAL(readv)(fd, iov, cnt);
}

ssize_t read(int fd, void *buf, size_t n)
{
    if (!cio__hook_active())
        return CIO__REAL(read)(fd, buf, n);
    if (cio__hook_cancelled(fd))
        return -1;
    if (cio__fd_kind(fd) == CIO__FD_STREAM) {
        ssize_t r;
        struct cio__wait w = CIO__WAIT_INIT(fd, CIO_READABLE, SO_RCVTIMEO);
        CIO__RETRY(r, &w, recv_now(fd, buf, n));
        if (!stale(fd, r))
            return r;
    }
    if (probe_wait(fd, POLLIN) < 0)
        return -1;
    return CIO__REAL(read)(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    if (!cio__hook_active())
        return CIO__REAL(write)(fd, buf, n);
    if (cio__hook_cancelled(fd))
        return -1;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return hooked_writev(fd, &iov, 1, 0);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    if (!cio__hook_active())
        return CIO__REAL(readv)(fd, iov, cnt);
    if (cio__hook_cancelled(fd))
        return -1;
    return hooked_readv(fd, iov, cnt);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    if (!cio__hook_active())
        return CIO__REAL(writev)(fd, iov, cnt);
    if (cio__hook_cancelled(fd))
        return -1;
    return hooked_writev(fd, iov, cnt, 0);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(recvmsg)(fd, msg, flags);
    if (cio__hook_cancelled(fd))
        return -1;
    int kind = cio__fd_kind(fd);
    if (!is_socket(kind))
        return CIO__REAL(recvmsg)(fd, msg, flags); /* ENOTSOCK */
    ssize_t r = sock_recvmsg(fd, msg, flags, kind);
    stale(fd, r);
    return r;
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
    if (cio__hook_cancelled(fd))
        return -1;
    int kind = cio__fd_kind(fd);
    if (!is_socket(kind) || (from != NULL && fromlen == NULL))
        return CIO__REAL(recvfrom)(fd, buf, n, flags, from, fromlen);
    struct iovec iov = {.iov_base = buf, .iov_len = n};
    struct msghdr m = {.msg_name = from,
                       .msg_namelen = from ? *fromlen : 0,
                       .msg_iov = &iov,
                       .msg_iovlen = 1};
    ssize_t r = sock_recvmsg(fd, &m, flags, kind);
    if (r >= 0 && from != NULL)
        *fromlen = m.msg_namelen;
    stale(fd, r);
    return r;
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(recv)(fd, buf, n, flags);
    return recvfrom(fd, buf, n, flags, NULL, NULL);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(sendmsg)(fd, msg, flags);
    if (cio__hook_cancelled(fd))
        return -1;
    int kind = cio__fd_kind(fd);
    if (!is_socket(kind))
        return CIO__REAL(sendmsg)(fd, msg, flags); /* ENOTSOCK */
    ssize_t r = sock_sendmsg(fd, msg, flags, kind);
    stale(fd, r);
    return r;
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags,
               const struct sockaddr *to, socklen_t tolen)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(sendto)(fd, buf, n, flags, to, tolen);
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    struct msghdr m = {.msg_name = (void *)to,
                       .msg_namelen = to ? tolen : 0,
                       .msg_iov = &iov,
                       .msg_iovlen = 1};
    return sendmsg(fd, &m, flags);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    if (!cio__hook_active() || (flags & MSG_DONTWAIT))
        return CIO__REAL(send)(fd, buf, n, flags);
    return sendto(fd, buf, n, flags, NULL, 0);
}

/* The checked variants a program built with _FORTIFY_SOURCE calls. */

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    if (n > buflen)
        __chk_fail();
    return read(fd, buf, n);
}

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    if (n > buflen)
        __chk_fail();
    return recv(fd, buf, n, flags);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen)
{
    if (n > buflen)
        __chk_fail();
    return recvfrom(fd, buf, n, flags, from, fromlen);
}
