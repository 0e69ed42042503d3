/* cio_fd_poll: poll(2) for a task, the kernel's own answer first, then a
 * wait on every fd at once until one is ready. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "io/fd_int.h"

/* Data that streaming reads took off a socket is readable too (and ends
 * their streaming): poll(2)'s count n, corrected. */
static int stream_revents(struct cio__hub *hub, struct pollfd *fds,
                          unsigned long nfds, int n)
{
    for (unsigned long i = 0; i < nfds; i++) {
        if (!(fds[i].events & POLLIN) ||
            !cio__fd_stream_ready(hub, fds[i].fd,
                                  cio__fd_peek_hub(hub, fds[i].fd)))
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
