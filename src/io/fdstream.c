/* An fd's streaming reads (io/uring_stream.c) as the fd table sees them:
 * their end when the fd is closed or reused, and the hook library's way to
 * the data they took off the socket. */
#include <errno.h>

#include "io/fd_int.h"

void cio__fd_stream_close(struct cio__hub *hub, int fd, struct cio__fd *f)
{
#ifdef CIO_HAVE_URING
    if (f->stream & CIO__FD_STREAMING)
        cio__stream_close(hub, fd);
#else
    (void)hub, (void)fd;
#endif
    f->stream = 0;
}

/* For the hook library (declared in hook/hook.h, which is not ours to
 * include): see there. */
ssize_t cio__stream_take(int fd, const struct iovec *iov, int cnt, int flags);
ssize_t cio__stream_take(int fd, const struct iovec *iov, int cnt, int flags)
{
#ifdef CIO_HAVE_URING
    cio_task_t *t = cio__self();
    struct cio__fd *f = t ? cio__fd_peek_hub(t->hub, fd) : NULL;
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
    struct cio__fd *f = t ? cio__fd_peek_hub(t->hub, fd) : NULL;
    if (f && (f->stream & CIO__FD_STREAMING)) {
        ssize_t r = cio__stream_write(t->hub, t, fd, NULL, 0, -1);
        return r == -ENOENT ? 0 : (int)r;
    }
#else
    (void)fd;
#endif
    return 0;
}
