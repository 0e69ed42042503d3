/* accept, connect and close for tasks, and the calls that create or
 * replace fds (so the per-fd table forgets what it knew about a number).
 *
 * accept waits until poll says a connection is queued, then accepts for
 * real: no other task runs in between. connect on a blocking socket is
 * the one call that must touch the fd's flags: O_NONBLOCK is set for the
 * connect(2) call alone and cleared again before anyone else can run on
 * this thread; the task then waits for writability. close goes through
 * cio_fd_close, which wakes tasks waiting on the fd with EBADF. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corio/hub.h"
#include "corio/io.h"
#include "hook.h"

static int hooked_accept(int fd, struct sockaddr *addr, socklen_t *len,
                         int flags, bool four)
{
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_READABLE, SO_RCVTIMEO);
    if (cio__hook_cancelled(fd))
        return -1;
    while (!cio__probe(fd, POLLIN) && !cio__wait_nonblock(&w)) {
        if (cio__wait_block(&w) < 0)
            return -1;
    }
    int s = four ? CIO__REAL(accept4)(fd, addr, len, flags)
                 : CIO__REAL(accept)(fd, addr, len);
    if (s >= 0)
        cio__fd_set_kind(s, CIO__FD_UNKNOWN);
    return s;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    if (!cio__hook_active()) {
        int s = CIO__REAL(accept)(fd, addr, len);
        cio__fd_set_kind(s, CIO__FD_UNKNOWN);
        return s;
    }
    return hooked_accept(fd, addr, len, 0, false);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    if (!cio__hook_active()) {
        int s = CIO__REAL(accept4)(fd, addr, len, flags);
        cio__fd_set_kind(s, CIO__FD_UNKNOWN);
        return s;
    }
    return hooked_accept(fd, addr, len, flags, true);
}

/* A unix socket's full backlog cannot be waited for with poll: retry on a
 * short, growing timer until the socket's SO_SNDTIMEO deadline. */
static int connect_backoff(int fd, const struct sockaddr *addr, socklen_t len,
                           int flags)
{
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_WRITABLE, SO_SNDTIMEO);
    int64_t deadline = cio__wait_deadline(&w);
    int64_t delay = 1;
    for (;;) {
        int64_t until = cio_deadline_in(delay);
        if (deadline >= 0 && until > deadline)
            until = deadline;
        int rc = cio_task_sleep_until(until);
        if (rc < 0)
            return cio__fail(rc);
        fcntl(fd, F_SETFL, flags | O_NONBLOCK);
        int r = CIO__REAL(connect)(fd, addr, len);
        int err = errno;
        fcntl(fd, F_SETFL, flags);
        if (r == 0 || err != EAGAIN)
            return r < 0 ? cio__fail(err) : 0;
        if (deadline >= 0 && cio_hub_now() >= deadline)
            return cio__fail(EAGAIN);
        if (delay < 64)
            delay *= 2;
    }
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!cio__hook_active())
        return CIO__REAL(connect)(fd, addr, len);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_NONBLOCK))
        return CIO__REAL(connect)(fd, addr, len);
    if (cio__hook_cancelled(fd))
        return -1;
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        return CIO__REAL(connect)(fd, addr, len);
    int r = CIO__REAL(connect)(fd, addr, len);
    int err = errno;
    fcntl(fd, F_SETFL, flags);
    if (r == 0)
        return 0;
    if (err == EAGAIN && addr != NULL && addr->sa_family == AF_UNIX)
        return connect_backoff(fd, addr, len, flags);
    if (err != EINPROGRESS)
        return cio__fail(err);
    struct cio__wait w = CIO__WAIT_INIT(fd, CIO_WRITABLE, SO_SNDTIMEO);
    w.nonblock = 0;
    if (cio__wait_block(&w) < 0) {
        /* The kernel's blocking connect reports its timeout this way; the
         * attempt goes on (a later connect says EALREADY), as there. */
        return errno == EAGAIN ? cio__fail(EINPROGRESS) : -1;
    }
    int soerr = 0;
    socklen_t soerr_len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &soerr_len) < 0)
        return -1;
    return soerr ? cio__fail(soerr) : 0;
}

int close(int fd)
{
    if (!cio__hook_active()) {
        int r = CIO__REAL(close)(fd);
        cio__fd_set_kind(fd, CIO__FD_UNKNOWN);
        return r;
    }
    /* cio_fd_close calls close() itself: that call must be the real one. It
     * does not switch tasks, so a per-thread guard is enough. */
    cio__hook_off++;
    int rc = cio_fd_close(fd);
    cio__hook_off--;
    cio__fd_set_kind(fd, CIO__FD_UNKNOWN);
    return rc < 0 ? cio__fail(rc) : 0;
}

int socket(int domain, int type, int protocol)
{
    int s = CIO__REAL(socket)(domain, type, protocol);
    if (s >= 0)
        cio__fd_set_kind(s, cio__fd_kind_of_type(type));
    return s;
}

int socketpair(int domain, int type, int protocol, int sv[2])
{
    int r = CIO__REAL(socketpair)(domain, type, protocol, sv);
    if (r == 0) {
        cio__fd_set_kind(sv[0], cio__fd_kind_of_type(type));
        cio__fd_set_kind(sv[1], cio__fd_kind_of_type(type));
    }
    return r;
}

int pipe(int fds[2])
{
    int r = CIO__REAL(pipe)(fds);
    if (r == 0) {
        cio__fd_set_kind(fds[0], CIO__FD_FIFO);
        cio__fd_set_kind(fds[1], CIO__FD_FIFO);
    }
    return r;
}

int pipe2(int fds[2], int flags)
{
    int r = CIO__REAL(pipe2)(fds, flags);
    if (r == 0) {
        /* O_DIRECT makes a packet pipe: still a pipe for our purposes. */
        cio__fd_set_kind(fds[0], CIO__FD_FIFO);
        cio__fd_set_kind(fds[1], CIO__FD_FIFO);
    }
    return r;
}

int dup2(int oldfd, int newfd)
{
    int r = CIO__REAL(dup2)(oldfd, newfd);
    if (r >= 0 && oldfd != newfd)
        cio__fd_set_kind(newfd, CIO__FD_UNKNOWN);
    return r;
}

int dup3(int oldfd, int newfd, int flags)
{
    int r = CIO__REAL(dup3)(oldfd, newfd, flags);
    if (r >= 0)
        cio__fd_set_kind(newfd, CIO__FD_UNKNOWN);
    return r;
}
