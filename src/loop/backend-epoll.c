/* The epoll backend (Linux), level-triggered.
 *
 * Quirks of epoll:
 * - The interest set holds open file descriptions, not fd numbers: closing
 *   an fd removes it silently only when no dup of it remains open, so a
 *   closed fd can keep reporting; the loop drops reports for fds it no
 *   longer has registered, and users unregister before closing.
 * - EPOLLERR and EPOLLHUP are always reported, whatever was asked; an fd
 *   with no interest is therefore kept out of the kernel set entirely.
 * - Regular files and directories are refused with EPERM.
 * - A registration can outlive the fd number (closed, reopened): MOD then
 *   fails with ENOENT and ADD with EEXIST; each retries the other.
 * - After fork, parent and child share the same interest set.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "corio/loop.h"
#include "loop/backend.h"

/* Reports are written by the kernel straight into the loop's array: its
 * bits must mean what poll(2)'s do (they do on Linux). */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT &&
                   EPOLLERR == POLLERR && EPOLLHUP == POLLHUP,
               "epoll and poll(2) bits differ");

typedef struct epoll_state {
    int epfd; /* the epoll instance */
} epoll_state_t;

static int epoll_init(void **state)
{
    epoll_state_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    st->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (st->epfd < 0) {
        int rc = -errno;
        free(st);
        return rc;
    }
    *state = st;
    return 0;
}

static void epoll_free(void *state)
{
    epoll_state_t *st = state;
    close(st->epfd);
    free(st);
}

static int epoll_set(void *state, int fd, int old_events, int new_events)
{
    epoll_state_t *st = state;
    struct epoll_event ev = {0};
    ev.events = ((new_events & CIO_READABLE) ? EPOLLIN : 0) |
                ((new_events & CIO_WRITABLE) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (new_events == 0) {
        if (epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, &ev) < 0 &&
            errno != ENOENT && errno != EBADF)
            return -errno;
        return 0;
    }
    int op = old_events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(st->epfd, op, fd, &ev) == 0)
        return 0;
    if (op == EPOLL_CTL_ADD && errno == EEXIST)
        op = EPOLL_CTL_MOD;
    else if (op == EPOLL_CTL_MOD && errno == ENOENT)
        op = EPOLL_CTL_ADD;
    else
        return -errno;
    return epoll_ctl(st->epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

static int epoll_poll(void *state, int timeout_ms, cio__fired_t *fired, int cap)
{
    epoll_state_t *st = state;
    int n = epoll_wait(st->epfd, fired, cap, timeout_ms);
    return n < 0 ? -errno : n;
}

const cio__backend_ops_t cio__backend_epoll = {
    .name = "epoll",
    .init = epoll_init,
    .free = epoll_free,
    .set = epoll_set,
    .poll = epoll_poll,
};
