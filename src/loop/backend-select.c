/* The select(2) backend.
 *
 * Quirks of select:
 * - An fd_set holds only fds below FD_SETSIZE (1024); FD_SET past it writes
 *   out of bounds. Such fds are refused with -EINVAL when registered.
 * - The sets are both input and output: each call works on copies.
 * - One closed fd in a set fails the whole call with EBADF; the backend
 *   then finds the culprits with fcntl and reports them as errors.
 * - The kernel's scan costs O(highest fd), not O(fired); the backend's own
 *   reads the result a word (64 fds) at a time.
 * - Errors and hang-ups show up as readable (and writable): there is no
 *   separate error set (exceptfds means out-of-band data).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/select.h>

#include "corio/loop.h"
#include "loop/backend.h"

typedef struct select_state {
    fd_set readers; /* fds with read interest */
    fd_set writers; /* fds with write interest */
    int max_fd;     /* highest fd in either set, -1 if none */
} select_state_t;

static int select_init(void **state)
{
    select_state_t *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return -ENOMEM;
    FD_ZERO(&st->readers);
    FD_ZERO(&st->writers);
    st->max_fd = -1;
    *state = st;
    return 0;
}

static void select_free(void *state)
{
    free(state);
}

static int select_set(void *state, int fd, int old_events, int new_events)
{
    select_state_t *st = state;
    if (fd < 0 || fd >= FD_SETSIZE)
        return -EINVAL;
    if (new_events & CIO_READABLE)
        FD_SET(fd, &st->readers);
    else
        FD_CLR(fd, &st->readers);
    if (new_events & CIO_WRITABLE)
        FD_SET(fd, &st->writers);
    else
        FD_CLR(fd, &st->writers);
    if (new_events != 0 && fd > st->max_fd)
        st->max_fd = fd;
    while (st->max_fd >= 0 && !FD_ISSET(st->max_fd, &st->readers) &&
           !FD_ISSET(st->max_fd, &st->writers))
        st->max_fd--;
    return 0;
}

/* After EBADF: reports every watched fd that is no longer open as an
 * error and rebuilds the sets without them, for a second, zero-timeout
 * select that serves the healthy fds in the same iteration. */
static int report_bad_fds(select_state_t *st, cio__fired_t *fired, int cap,
                          fd_set *readable, fd_set *writable)
{
    int count = 0;
    *readable = st->readers;
    *writable = st->writers;
    for (int fd = 0; fd <= st->max_fd && count < cap; fd++) {
        if (!FD_ISSET(fd, &st->readers) && !FD_ISSET(fd, &st->writers))
            continue;
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            cio__fired_set(&fired[count++], fd, POLLNVAL); /* as poll(2) */
            FD_CLR(fd, readable);
            FD_CLR(fd, writable);
        }
    }
    return count;
}

/* Reports the fds set in readable or writable, appended to fired from
 * count: returns the new count. An fd_set is the kernel's bitmap (bit
 * fd % 64 of word fd / 64, in unsigned longs), the layout FD_ISSET reads
 * too: whole words are skipped, and each fd set found with one ctz. */
enum { WORD_BITS = 8 * sizeof(unsigned long) };
static int report_ready(const select_state_t *st, const fd_set *readable,
                        const fd_set *writable, cio__fired_t *fired, int count,
                        int cap)
{
    _Static_assert(sizeof(fd_set) == FD_SETSIZE / 8 &&
                       sizeof(fd_set) % sizeof(unsigned long) == 0,
                   "fd_set is not a bitmap of longs");
    /* Its words are longs (glibc) or unsigned longs (musl): either may be
     * read as unsigned long. */
    const unsigned long *r = (const void *)readable;
    const unsigned long *w = (const void *)writable;
    for (int i = 0; i <= st->max_fd / (int)WORD_BITS; i++) {
        unsigned long ri = r[i], wi = w[i];
        for (unsigned long any = ri | wi; any != 0 && count < cap;
             any &= any - 1) {
            int bit = __builtin_ctzl(any);
            unsigned e = (unsigned)((ri >> bit) & 1) * POLLIN |
                         (unsigned)((wi >> bit) & 1) * POLLOUT;
            cio__fired_set(&fired[count++], i * (int)WORD_BITS + bit, e);
        }
    }
    return count;
}

static int select_poll(void *state, int timeout_ms, cio__fired_t *fired,
                       int cap)
{
    select_state_t *st = state;
    fd_set readable = st->readers, writable = st->writers;
    struct timeval tv, *tvp = NULL;
    if (timeout_ms >= 0) {
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        tvp = &tv;
    }
    int count = 0;
    int n = select(st->max_fd + 1, &readable, &writable, NULL, tvp);
    if (n < 0 && errno == EBADF) {
        count = report_bad_fds(st, fired, cap, &readable, &writable);
        struct timeval zero = {0, 0};
        n = select(st->max_fd + 1, &readable, &writable, NULL, &zero);
        if (n < 0)
            return count;
    } else if (n < 0) {
        return -errno;
    }
    if (n == 0)
        return count;
    return report_ready(st, &readable, &writable, fired, count, cap);
}

const cio__backend_ops_t cio__backend_select = {
    .name = "select",
    .fd_limit = FD_SETSIZE,
    .init = select_init,
    .free = select_free,
    .set = select_set,
    .poll = select_poll,
};
