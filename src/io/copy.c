/* fd to fd copies for tasks, built on the public IO calls: splice(2)
 * through a pipe when the kernel takes both fds (sockets, pipes, files),
 * else read and write through a buffer; a proxy of two such copies in a
 * nursery; and the idle deadline they share. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corio/copy.h"
#include "corio/hub.h"
#include "corio/io.h"
#include "corio/nursery.h"

#define CHUNK (64 * 1024) /* bytes per splice or read: a pipe's default */

struct cio_idle {
    int64_t idle_ms; /* quiet time allowed */
    int64_t last;    /* last activity, on cio_hub_now's clock */
    void *user;      /* the program's pointer */
};

int cio_idle_new(cio_idle_t **out, int64_t idle_ms)
{
    if (!out || idle_ms <= 0)
        return -EINVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return -ENOMEM;
    (*out)->idle_ms = idle_ms;
    (*out)->last = cio_hub_now();
    return 0;
}

void cio_idle_free(cio_idle_t *idle)
{
    free(idle);
}

void cio_idle_touch(cio_idle_t *idle)
{
    if (idle)
        idle->last = cio_hub_now();
}

int64_t cio_idle_deadline(const cio_idle_t *idle, int64_t deadline_ms)
{
    if (!idle)
        return deadline_ms;
    int64_t at = idle->last + idle->idle_ms;
    return deadline_ms < 0 || at < deadline_ms ? at : deadline_ms;
}

bool cio_idle_expired(const cio_idle_t *idle)
{
    return idle && cio_hub_now() >= idle->last + idle->idle_ms;
}

void cio_idle_set_data(cio_idle_t *idle, void *data)
{
    if (idle)
        idle->user = data;
}

void *cio_idle_data(const cio_idle_t *idle)
{
    return idle ? idle->user : NULL;
}

/* Waits for fd; a timeout that only an old idle deadline caused is retried
 * with the moved one. */
static int wait_fd(int fd, bool out, cio_idle_t *idle, int64_t deadline_ms)
{
    for (;;) {
        int64_t dl = cio_idle_deadline(idle, deadline_ms);
        int rc =
            out ? cio_fd_wait_writable(fd, dl) : cio_fd_wait_readable(fd, dl);
        if (rc != -ETIMEDOUT || !idle || cio_idle_expired(idle))
            return rc;
        if (deadline_ms >= 0 && cio_hub_now() >= deadline_ms)
            return rc;
    }
}

/* The buffered copy, for fds splice(2) refuses. */
static int copy_buffered(int from, int to, uint64_t *copied, cio_idle_t *idle,
                         int64_t deadline_ms)
{
    char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (;;) {
        ssize_t n = read(from, buf, CHUNK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = errno == EAGAIN ? wait_fd(from, false, idle, deadline_ms)
                                 : -errno;
            if (rc < 0)
                break;
            continue;
        }
        cio_idle_touch(idle);
        for (ssize_t off = 0; off < n;) {
            ssize_t w = cio_fd_write(to, buf + off, (size_t)(n - off),
                                     cio_idle_deadline(idle, deadline_ms));
            if (w == -ETIMEDOUT && !cio_idle_expired(idle) &&
                (deadline_ms < 0 || cio_hub_now() < deadline_ms))
                continue;
            if (w < 0) {
                rc = (int)w;
                goto out;
            }
            off += w;
            *copied += (uint64_t)w;
            cio_idle_touch(idle);
        }
    }
out:
    free(buf);
    return rc;
}

/* Moves what the pipe holds to `to`. */
static int drain_pipe(int pipe_r, int to, size_t *inpipe, uint64_t *copied,
                      cio_idle_t *idle, int64_t deadline_ms)
{
    while (*inpipe > 0) {
        ssize_t m = splice(pipe_r, NULL, to, NULL, *inpipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (m < 0) {
            if (errno == EINTR)
                continue;
            int rc =
                errno == EAGAIN ? wait_fd(to, true, idle, deadline_ms) : -errno;
            if (rc < 0)
                return rc;
            continue;
        }
        *inpipe -= (size_t)m;
        *copied += (uint64_t)m;
        cio_idle_touch(idle);
    }
    return 0;
}

int cio_fd_copy(int from, int to, uint64_t *copied, cio_idle_t *idle,
                int64_t deadline_ms)
{
    uint64_t dummy;
    if (!copied)
        copied = &dummy;
    *copied = 0;
    if (!cio_task_self())
        return -EPERM;
    int rc = cio_fd_set_nonblock(from);
    if (rc == 0)
        rc = cio_fd_set_nonblock(to);
    if (rc < 0)
        return rc;
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return -errno;
    size_t inpipe = 0;
    for (;;) {
        ssize_t n = splice(from, NULL, p[1], NULL, CHUNK,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EINVAL || errno == ENOSYS) && *copied == 0) {
                rc = copy_buffered(from, to, copied, idle, deadline_ms);
                break;
            }
            rc = errno == EAGAIN ? wait_fd(from, false, idle, deadline_ms)
                                 : -errno;
            if (rc < 0)
                break;
            continue;
        }
        inpipe = (size_t)n;
        cio_idle_touch(idle);
        rc = drain_pipe(p[0], to, &inpipe, copied, idle, deadline_ms);
        if ((rc == -EINVAL || rc == -ENOSYS) && *copied == 0) {
            /* `to` takes no splice: empty the pipe into it by hand, then
             * go on through a buffer. */
            close(p[1]);
            p[1] = -1;
            rc = copy_buffered(p[0], to, copied, idle, deadline_ms);
            if (rc == 0)
                rc = copy_buffered(from, to, copied, idle, deadline_ms);
            break;
        }
        if (rc < 0)
            break;
    }
    close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    return rc;
}

/* ---- the proxy ---- */

struct proxy {
    int a, b;            /* the two ends */
    cio_idle_t *idle;    /* shared by both directions, or NULL */
    int64_t deadline_ms; /* for both */
    cio_task_t *caller;  /* copies a to b */
    bool caller_done;    /* its copy has returned */
    int back_rc;         /* the child's result (b to a) */
    uint64_t counts[2];  /* bytes a to b, b to a */
};

/* The end of one direction: the reader of the other end sees end of file.
 * (Not a socket: nothing to pass on.) */
static void pass_eof(int fd)
{
    (void)shutdown(fd, SHUT_WR);
}

static void *copy_back(void *arg)
{
    struct proxy *p = arg;
    p->back_rc =
        cio_fd_copy(p->b, p->a, &p->counts[1], p->idle, p->deadline_ms);
    if (p->back_rc == 0)
        pass_eof(p->a);
    else if (!p->caller_done)
        cio_task_interrupt(p->caller); /* stop the other direction too */
    return NULL;
}

int cio_fd_proxy(int a, int b, uint64_t counts[2], int64_t idle_ms,
                 int64_t deadline_ms)
{
    struct proxy p = {.a = a, .b = b, .deadline_ms = deadline_ms};
    if (counts)
        counts[0] = counts[1] = 0;
    if (a < 0 || b < 0)
        return -EBADF;
    p.caller = cio_task_self();
    if (!p.caller)
        return -EPERM;
    int rc = idle_ms > 0 ? cio_idle_new(&p.idle, idle_ms) : 0;
    cio_nursery_t *n = NULL;
    if (rc == 0)
        rc = cio_nursery_new(&n, 1000);
    if (rc == 0)
        rc = cio_nursery_spawn(n, NULL, copy_back, &p);
    if (rc == 0) {
        rc = cio_fd_copy(a, b, &p.counts[0], p.idle, deadline_ms);
        p.caller_done = true;
        if (rc == -EINTR && p.back_rc < 0)
            rc = p.back_rc; /* the other direction failed first */
        else if (rc == 0)
            pass_eof(b);
        if (rc == 0) {
            do
                rc = cio_nursery_join(n, deadline_ms);
            while (rc == -EINTR);
        }
        if (rc == 0)
            rc = p.back_rc;
    }
    if (n)
        cio_nursery_close(n, cio_deadline_in(1000)); /* stops the child */
    cio_idle_free(p.idle);
    if (counts) {
        counts[0] = p.counts[0];
        counts[1] = p.counts[1];
    }
    return rc;
}
