/* Cooperative file IO (include/corio/file.h): one operation on the hub's
 * io_uring when the backend is uring, else a job on the offload pool's file
 * threads (reads and writes then go through a buffer of the job's own, so a
 * task that stops waiting leaves nothing of its own to the thread). Also the
 * ring versions of cio_file_open, cio_file_stat and cio_file_fsync. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "corio/file.h"
#include "corio/io.h"
#include "io/fdwait.h"
#include "io/uring_hub.h"

/* Bytes one pool job moves at most (a short count says so). */
#define POOL_MAX (1 << 20)

int cio__offload_run(int kind, long (*fn)(void *), void *arg,
                     void (*drop)(void *, long), long *result,
                     int64_t deadline_ms);

struct rw_job {
    int fd;
    bool write;
    size_t n;
    int64_t off;
    char data[];
};

static long rw_fn(void *arg)
{
    struct rw_job *j = arg;
    ssize_t r;
    if (j->write)
        r = j->off < 0 ? write(j->fd, j->data, j->n)
                       : pwrite(j->fd, j->data, j->n, (off_t)j->off);
    else
        r = j->off < 0 ? read(j->fd, j->data, j->n)
                       : pread(j->fd, j->data, j->n, (off_t)j->off);
    return r < 0 ? -errno : (long)r;
}

static void rw_drop(void *arg, long r)
{
    (void)r;
    free(arg);
}

static ssize_t pool_rw(int fd, void *buf, size_t n, int64_t off, bool write,
                       int64_t deadline_ms)
{
    if (n > POOL_MAX)
        n = POOL_MAX;
    struct rw_job *j = malloc(sizeof *j + n);
    if (!j)
        return -ENOMEM;
    *j = (struct rw_job){.fd = fd, .write = write, .n = n, .off = off};
    if (write)
        memcpy(j->data, buf, n);
    long r = 0;
    int rc = cio__offload_run(0, rw_fn, j, rw_drop, &r, deadline_ms);
    if (rc < 0)
        return rc; /* the job is dropped, now or when it ends */
    if (!write && r > 0)
        memcpy(buf, j->data, (size_t)r);
    free(j);
    return r;
}

#ifdef CIO_HAVE_URING
/* A task on a uring hub, or NULL (then *rc says why if it is an error). */
static cio_task_t *ring_task(int *rc)
{
    cio_task_t *t;
    *rc = cio__enter(&t);
    if (*rc == 0 && cio__io(t->hub)->uring)
        return t;
    if (*rc == -EPERM)
        *rc = 0; /* not in a task: the pool runs it inline */
    return NULL;
}

/* An entry for the running task's operation on its hub's ring; NULL with
 * *rc = -ENOSYS when not on a uring hub's task (the file pool serves). */
static struct io_uring_sqe *ring_sqe(cio_task_t **t, int *rc)
{
    *t = ring_task(rc);
    if (!*t) {
        *rc = *rc < 0 ? *rc : -ENOSYS;
        return NULL;
    }
    struct io_uring_sqe *sqe = cio__uop_sqe((*t)->hub, *t);
    *rc = sqe ? 0 : -EBUSY;
    return sqe;
}
#endif

static ssize_t file_rw(int fd, void *buf, size_t n, int64_t off, bool write,
                       int64_t deadline_ms)
{
    if (fd < 0)
        return -EBADF;
#ifdef CIO_HAVE_URING
    int rc;
    cio_task_t *t;
    struct io_uring_sqe *sqe = ring_sqe(&t, &rc);
    if (sqe) {
        if (n > 0x7ffff000)
            n = 0x7ffff000; /* what read(2) moves at most */
        if (write)
            io_uring_prep_write(sqe, fd, buf, (unsigned)n, (__u64)off);
        else
            io_uring_prep_read(sqe, fd, buf, (unsigned)n, (__u64)off);
        return cio__uop_wait(t->hub, t, deadline_ms,
                             write ? "file write" : "file read", fd, true);
    }
    if (rc != -ENOSYS)
        return rc;
#endif
    return pool_rw(fd, buf, n, off, write, deadline_ms);
}

ssize_t cio_file_pread(int fd, void *buf, size_t n, int64_t offset,
                       int64_t deadline_ms)
{
    return file_rw(fd, buf, n, offset, false, deadline_ms);
}

ssize_t cio_file_pwrite(int fd, const void *buf, size_t n, int64_t offset,
                        int64_t deadline_ms)
{
    return file_rw(fd, (void *)buf, n, offset, true, deadline_ms);
}

/* splice with readiness waits: SPLICE_F_NONBLOCK, then wait for the input
 * and the output in turn (regular files count as ready). */
static ssize_t splice_ready(int fd_in, int64_t *off_in, int fd_out,
                            int64_t *off_out, size_t n, int64_t deadline_ms)
{
    for (;;) {
        loff_t in = off_in ? *off_in : 0, out = off_out ? *off_out : 0;
        ssize_t r =
            splice(fd_in, off_in ? &in : NULL, fd_out, off_out ? &out : NULL, n,
                   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
        if (r >= 0) {
            if (off_in)
                *off_in = in;
            if (off_out)
                *off_out = out;
            return r;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int rc = cio_fd_wait_readable(fd_in, deadline_ms);
        if (rc == 0)
            rc = cio_fd_wait_writable(fd_out, deadline_ms);
        if (rc < 0)
            return rc;
    }
}

#ifdef CIO_HAVE_URING
/* Streaming sockets (uring_stream.c): a splice from one moves the bytes its
 * multishot already took first, by hand; a splice into one follows the
 * reply queued on it. -ENOENT: splice as usual. */
static ssize_t splice_streams(int fd_in, int fd_out, int64_t *off_out, size_t n,
                              int64_t deadline_ms)
{
    int rc;
    cio_task_t *t = ring_task(&rc);
    if (!t)
        return -ENOENT;
    ssize_t r = cio__stream_write(t->hub, t, fd_out, NULL, 0, deadline_ms);
    if (r != -ENOENT)
        return r;
    char buf[CIO__PBUF_SIZE];
    struct iovec iov = {.iov_base = buf,
                        .iov_len = n < sizeof buf ? n : sizeof buf};
    r = cio__stream_read(t->hub, t, fd_in, &iov, 1, MSG_PEEK, false,
                         deadline_ms);
    if (r == -ENOENT || r == -ETIMEDOUT || r == -ECANCELED || r == -EINTR ||
        r == -EBADF)
        return r;
    ssize_t w = r;
    if (r > 0) /* the bytes stay kept until written */
        w = off_out
                ? cio_file_pwrite(fd_out, buf, (size_t)r, *off_out, deadline_ms)
                : cio_fd_write(fd_out, buf, (size_t)r, deadline_ms);
    if (w < 0 && r > 0)
        return w;
    iov.iov_len = w > 0 ? (size_t)w : 0; /* consume what went, or the end */
    (void)cio__stream_read(t->hub, t, fd_in, &iov, 1, 0, false, 0);
    if (w > 0 && off_out)
        *off_out += w;
    return w;
}
#endif

ssize_t cio_fd_splice(int fd_in, int64_t *off_in, int fd_out, int64_t *off_out,
                      size_t n, int64_t deadline_ms)
{
    if (fd_in < 0 || fd_out < 0)
        return -EBADF;
#ifdef CIO_HAVE_URING
    ssize_t kept = splice_streams(fd_in, fd_out, off_out, n, deadline_ms);
    if (kept != -ENOENT)
        return kept;
    struct cio__hub *hub = cio__hub_get();
    while (hub && cio__io(hub)->uring && !cio__expired(hub, deadline_ms)) {
        int rc;
        cio_task_t *t;
        struct io_uring_sqe *sqe = ring_sqe(&t, &rc);
        if (!sqe)
            return rc == -ENOSYS ? splice_ready(fd_in, off_in, fd_out, off_out,
                                                n, deadline_ms)
                                 : rc;
        if (n > 0x7ffff000)
            n = 0x7ffff000;
        io_uring_prep_splice(sqe, fd_in, off_in ? *off_in : -1, fd_out,
                             off_out ? *off_out : -1, (unsigned)n,
                             SPLICE_F_MOVE);
        ssize_t r =
            cio__uop_wait(t->hub, t, deadline_ms, "splice", fd_out, false);
        if (r > 0 && off_in)
            *off_in += r;
        if (r > 0 && off_out)
            *off_out += r;
        if (r != -EAGAIN)
            return r;
        /* A non-blocking pipe says EAGAIN rather than wait: wait for it
         * (polls on the ring), then try again. */
        if ((rc = cio_fd_wait_readable(fd_in, deadline_ms)) < 0 ||
            (rc = cio_fd_wait_writable(fd_out, deadline_ms)) < 0)
            return rc;
    }
#endif
    return splice_ready(fd_in, off_in, fd_out, off_out, n, deadline_ms);
}

#ifdef CIO_HAVE_URING
int cio__uring_openat(const char *path, int flags, mode_t mode)
{
    int rc;
    cio_task_t *t;
    struct io_uring_sqe *sqe = ring_sqe(&t, &rc);
    if (!sqe)
        return rc;
    io_uring_prep_openat(sqe, AT_FDCWD, path, flags | O_CLOEXEC, mode);
    rc = cio__uop_wait(t->hub, t, -1, "open", 0, true);
    if (rc >= 0)
        cio__fd_fresh(rc);
    return rc;
}

static void from_statx(struct stat *st, const struct statx *sx)
{
    memset(st, 0, sizeof *st);
    st->st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    st->st_ino = sx->stx_ino;
    st->st_mode = sx->stx_mode;
    st->st_nlink = sx->stx_nlink;
    st->st_uid = sx->stx_uid;
    st->st_gid = sx->stx_gid;
    st->st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
    st->st_size = (off_t)sx->stx_size;
    st->st_blksize = (blksize_t)sx->stx_blksize;
    st->st_blocks = (blkcnt_t)sx->stx_blocks;
    st->st_atim.tv_sec = sx->stx_atime.tv_sec;
    st->st_atim.tv_nsec = sx->stx_atime.tv_nsec;
    st->st_mtim.tv_sec = sx->stx_mtime.tv_sec;
    st->st_mtim.tv_nsec = sx->stx_mtime.tv_nsec;
    st->st_ctim.tv_sec = sx->stx_ctime.tv_sec;
    st->st_ctim.tv_nsec = sx->stx_ctime.tv_nsec;
}

int cio__uring_stat(const char *path, struct stat *st)
{
    int rc;
    cio_task_t *t;
    struct io_uring_sqe *sqe = ring_sqe(&t, &rc);
    if (!sqe)
        return rc;
    struct statx sx;
    io_uring_prep_statx(sqe, AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
    rc = cio__uop_wait(t->hub, t, -1, "stat", 0, true);
    if (rc == 0)
        from_statx(st, &sx);
    return rc;
}

int cio__uring_fsync(int fd)
{
    int rc;
    cio_task_t *t;
    struct io_uring_sqe *sqe = ring_sqe(&t, &rc);
    if (!sqe)
        return rc;
    io_uring_prep_fsync(sqe, fd, 0);
    return cio__uop_wait(t->hub, t, -1, "fsync", fd, false);
}
#endif
