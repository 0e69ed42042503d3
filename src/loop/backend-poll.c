/* The poll(2) backend.
 *
 * Quirks of poll:
 * - Every call passes the whole array and the kernel scans it: O(n) in the
 *   number of watched fds, whatever fired. The array is kept dense (removal
 *   swaps the last entry in) and indexed from fd for O(1) changes.
 * - A closed fd in the array is reported as POLLNVAL (an error), not
 *   skipped; a negative fd is ignored by the kernel.
 * - POLLHUP and POLLERR are reported whatever was asked.
 * - No fd limit other than RLIMIT_NOFILE for nfds.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "corio/loop.h"
#include "loop/backend.h"

typedef struct poll_state {
    struct pollfd *fds; /* dense array handed to poll() */
    int len;            /* entries in use */
    int cap;            /* entries allocated */
    int *index_of;      /* fd -> position in fds, -1 if absent */
    int index_cap;      /* entries in index_of */
} poll_state_t;

static int poll_init(void **state)
{
    poll_state_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    *state = st;
    return 0;
}

static void poll_free(void *state)
{
    poll_state_t *st = state;
    free(st->fds);
    free(st->index_of);
    free(st);
}

static int reserve(poll_state_t *st, int fd)
{
    if (fd >= st->index_cap) {
        int cap = st->index_cap ? st->index_cap : 64;
        while (cap <= fd)
            cap *= 2;
        int *index_of = realloc(st->index_of, (size_t)cap * sizeof(int));
        if (index_of == NULL)
            return -ENOMEM;
        for (int i = st->index_cap; i < cap; i++)
            index_of[i] = -1;
        st->index_of = index_of;
        st->index_cap = cap;
    }
    if (st->len == st->cap) {
        int cap = st->cap ? st->cap * 2 : 64;
        struct pollfd *fds = realloc(st->fds, (size_t)cap * sizeof(*fds));
        if (fds == NULL)
            return -ENOMEM;
        st->fds = fds;
        st->cap = cap;
    }
    return 0;
}

static short to_poll(int events)
{
    return (short)(((events & CIO_READABLE) ? POLLIN : 0) |
                   ((events & CIO_WRITABLE) ? POLLOUT : 0));
}

static int poll_set(void *state, int fd, int old_events, int new_events)
{
    poll_state_t *st = state;
    int i = fd < st->index_cap ? st->index_of[fd] : -1;
    if (new_events == 0) {
        if (i < 0)
            return 0;
        st->len--;
        if (i != st->len) {
            st->fds[i] = st->fds[st->len];
            st->index_of[st->fds[i].fd] = i;
        }
        st->index_of[fd] = -1;
        return 0;
    }
    if (i < 0) {
        int rc = reserve(st, fd);
        if (rc < 0)
            return rc;
        i = st->len++;
        st->fds[i].fd = fd;
        st->index_of[fd] = i;
    }
    st->fds[i].events = to_poll(new_events);
    st->fds[i].revents = 0;
    return 0;
}

static int poll_poll(void *state, int timeout_ms, cio__fired_t *fired, int cap)
{
    poll_state_t *st = state;
    int n = poll(st->fds, (nfds_t)st->len, timeout_ms);
    if (n < 0)
        return -errno;
    int count = 0;
    for (int i = 0; i < st->len && count < n && count < cap; i++) {
        short re = st->fds[i].revents;
        if (re == 0)
            continue;
        cio__fired_set(&fired[count++], st->fds[i].fd, (unsigned short)re);
    }
    return count;
}

const cio__backend_ops_t cio__backend_poll = {
    .name = "poll",
    .init = poll_init,
    .free = poll_free,
    .set = poll_set,
    .poll = poll_poll,
};
