/* What every hooked call does when its non-blocking attempt says EAGAIN:
 * return it (the program made the fd non-blocking), or wait on the hub
 * the way the blocking call would have waited in the kernel, honouring the
 * socket timeout the program set. Also the iovec cursor that the
 * all-or-nothing calls (blocking writev, MSG_WAITALL) consume. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "corio/hub.h"
#include "corio/io.h"
#include "hook.h"

int cio__fail(int err)
{
    errno = err < 0 ? -err : err;
    return -1;
}

int cio__probe(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events, .revents = 0};
    int saved = errno;
    int n = CIO__REAL(poll)(&p, 1, 0);
    errno = saved;
    return n != 0; /* an error counts as ready: the real call reports it */
}

static bool fd_nonblocking(int fd)
{
    int saved = errno;
    int flags = fcntl(fd, F_GETFL);
    errno = saved;
    return flags >= 0 && (flags & O_NONBLOCK);
}

bool cio__wait_nonblock(struct cio__wait *w)
{
    if (w->nonblock < 0)
        w->nonblock = fd_nonblocking(w->fd);
    return w->nonblock;
}

int cio__hook_cancelled(int fd)
{
    if (cio_task_cancelled() && !fd_nonblocking(fd))
        return cio__fail(ECANCELED);
    return 0;
}

/* The socket's SO_RCVTIMEO or SO_SNDTIMEO as a deadline; -1 if unset. */
static int64_t socket_deadline(int fd, int opt)
{
    struct timeval tv;
    socklen_t len = sizeof(tv);
    int saved = errno;
    int rc = getsockopt(fd, SOL_SOCKET, opt, &tv, &len);
    errno = saved;
    if (rc != 0 || (tv.tv_sec == 0 && tv.tv_usec == 0))
        return -1;
    /* Round up: waiting a little longer is what the kernel does too. */
    return cio_deadline_in((int64_t)tv.tv_sec * 1000 +
                           (tv.tv_usec + 999) / 1000);
}

int64_t cio__wait_deadline(struct cio__wait *w)
{
    if (!w->waited) {
        w->deadline = w->timeo_opt ? socket_deadline(w->fd, w->timeo_opt) : -1;
        w->waited = true;
    }
    return w->deadline;
}

int cio__wait_block(struct cio__wait *w)
{
    if (cio__wait_nonblock(w))
        return cio__fail(EAGAIN);
    cio__wait_deadline(w);
    int rc = w->events == CIO_WRITABLE
                 ? cio_fd_wait_writable(w->fd, w->deadline)
                 : cio_fd_wait_readable(w->fd, w->deadline);
    if (rc == 0)
        return 0;
    /* The kernel reports an expired SO_RCVTIMEO/SO_SNDTIMEO as EAGAIN. */
    return cio__fail(rc == -ETIMEDOUT ? EAGAIN : rc);
}

int cio__iovcur_init(struct cio__iovcur *c, const struct iovec *iov, int cnt)
{
    c->heap = NULL;
    c->iov = c->small;
    if (cnt > (int)(sizeof(c->small) / sizeof(c->small[0]))) {
        c->heap = malloc((size_t)cnt * sizeof(*iov));
        if (c->heap == NULL)
            return cio__fail(ENOMEM);
        c->iov = c->heap;
    }
    if (cnt > 0)
        memcpy(c->iov, iov, (size_t)cnt * sizeof(*iov));
    c->cnt = cnt;
    return 0;
}

bool cio__iovcur_advance(struct cio__iovcur *c, size_t n)
{
    while (c->cnt > 0 && n >= c->iov->iov_len) {
        n -= c->iov->iov_len;
        c->iov++;
        c->cnt--;
    }
    if (c->cnt > 0 && n > 0) {
        c->iov->iov_base = (char *)c->iov->iov_base + n;
        c->iov->iov_len -= n;
    }
    /* Skip empty iovecs so that "bytes remain" is cnt > 0. */
    while (c->cnt > 0 && c->iov->iov_len == 0) {
        c->iov++;
        c->cnt--;
    }
    return c->cnt > 0;
}

void cio__iovcur_free(struct cio__iovcur *c)
{
    free(c->heap);
    c->heap = NULL;
}

size_t cio__iov_len(const struct iovec *iov, int cnt)
{
    size_t total = 0;
    for (int i = 0; i < cnt; i++)
        total += iov[i].iov_len;
    return total;
}
