/* The backend contract: a backend only tracks interest and, when polled,
 * fills an array of fired (fd, events). Every dispatch rule (stale reports,
 * masking by current interest, error reporting) lives once in loop.c. */
#ifndef CIO_LOOP_BACKEND_H
#define CIO_LOOP_BACKEND_H

#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>

/* One readiness report, as filled by a backend's poll: epoll_wait's own
 * entry, so that the epoll backend has the kernel write reports in place
 * and nothing is converted before dispatch. The fd is in data.fd; events
 * holds poll(2) bits (POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL), which
 * epoll's EPOLLIN... share and io_uring's poll reports too; the loop turns
 * them into CIO_* bits as it dispatches. */
typedef struct epoll_event cio__fired_t;

/* Fills one report (select's and poll's backends, io_uring's polls). */
static inline void cio__fired_set(cio__fired_t *f, int fd, unsigned events)
{
    f->events = events;
    f->data.fd = fd;
}

/* The small table of operations each backend implements. */
typedef struct cio__backend_ops {
    const char *name; /* "select", "poll", "epoll" or "uring" */
    int fd_limit;     /* fds must be below this (0: no limit of its own) */
    /* Allocates the backend's state into *state. Returns 0 or -errno. */
    int (*init)(void **state);
    /* Releases the state (fds registered are not closed). */
    void (*free)(void *state);
    /* Changes fd's interest from old_events to new_events (either may be
     * 0: add, modify, delete). Called only when they differ. */
    int (*set)(void *state, int fd, int old_events, int new_events);
    /* Waits up to timeout_ms (-1 forever, 0 not at all) and writes at most
     * cap reports into fired. Returns the count, or -errno (-EINTR is
     * treated as 0 fired by the loop). */
    int (*poll)(void *state, int timeout_ms, cio__fired_t *fired, int cap);
} cio__backend_ops_t;

extern const cio__backend_ops_t cio__backend_select;
extern const cio__backend_ops_t cio__backend_poll;
extern const cio__backend_ops_t cio__backend_epoll;
/* io_uring; without liburing at build time, an init that fails -ENOSYS. */
extern const cio__backend_ops_t cio__backend_uring;

#endif
