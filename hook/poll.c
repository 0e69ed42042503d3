/* poll, __poll, select and epoll_wait for tasks.
 *
 * Each first asks the kernel with a zero timeout (which also answers for
 * regular files, always ready, and for closed fds); only when nothing is
 * ready and the caller is willing to wait does the task wait, with
 * cio_fd_poll or on the epoll fd, and then ask the kernel again, so the
 * result always comes from the real call. A call with a zero timeout
 * never waits: that is how corio's own probes pass through. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "corio/hub.h"
#include "corio/io.h"
#include "hook.h"

extern void __chk_fail(void) __attribute__((__noreturn__));

/* Waits with cio_fd_poll on the entries of fds that name an fd (poll(2)
 * ignores negative ones, cio_fd_poll need not). 0 when something may be
 * ready, 1 at the deadline, -1 with errno on failure. */
static int wait_pollfds(const struct pollfd *fds, nfds_t n, int64_t deadline)
{
    struct pollfd small[16], *w = small;
    nfds_t cnt = 0;
    for (nfds_t i = 0; i < n; i++)
        cnt += fds[i].fd >= 0;
    if (cnt == 0) {
        int rc = cio_task_sleep_until(deadline);
        return rc < 0 ? cio__fail(rc) : 1;
    }
    if (cnt > sizeof(small) / sizeof(small[0])) {
        w = malloc(cnt * sizeof(*w));
        if (w == NULL)
            return cio__fail(ENOMEM);
    }
    cnt = 0;
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].fd >= 0)
            w[cnt++] = fds[i];
    }
    int rc = cio_fd_poll(w, cnt, deadline);
    if (w != small)
        free(w);
    if (rc < 0 && rc != -ETIMEDOUT)
        return cio__fail(rc);
    return rc > 0 ? 0 : 1;
}

static int64_t deadline_of_ms(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : cio_deadline_in(timeout_ms);
}

static bool expired(int64_t deadline)
{
    return deadline >= 0 && cio_hub_now() >= deadline;
}

static int hooked_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    if (timeout_ms != 0 && cio_task_cancelled())
        return cio__fail(ECANCELED);
    int r = CIO__REAL(poll)(fds, n, 0);
    if (r != 0 || timeout_ms == 0)
        return r;
    int64_t deadline = deadline_of_ms(timeout_ms);
    for (;;) {
        int rc = wait_pollfds(fds, n, deadline);
        if (rc != 0)
            return rc < 0 ? -1 : 0;
        r = CIO__REAL(poll)(fds, n, 0);
        if (r != 0 || expired(deadline))
            return r;
    }
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    if (!cio__hook_active())
        return CIO__REAL(poll)(fds, n, timeout_ms);
    return hooked_poll(fds, n, timeout_ms);
}

int __poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    return poll(fds, n, timeout_ms);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen)
{
    if (fdslen / sizeof(*fds) < n)
        __chk_fail();
    return poll(fds, n, timeout_ms);
}

/* ---- select ---- */

/* The fd_sets a select call asks about (NULL for a set not given). */
struct selsets {
    fd_set *set[3]; /* readable, writable, exceptional */
};

/* One zero-timeout select on copies; copies back when something is ready
 * (the caller's sets still say what to wait for otherwise). */
static int select_probe(int nfds, struct selsets *s)
{
    fd_set copy[3];
    fd_set *arg[3];
    for (int i = 0; i < 3; i++) {
        arg[i] = s->set[i] ? &copy[i] : NULL;
        if (s->set[i])
            copy[i] = *s->set[i];
    }
    struct timeval zero = {0, 0};
    int r = CIO__REAL(select)(nfds, arg[0], arg[1], arg[2], &zero);
    for (int i = 0; r > 0 && i < 3; i++) {
        if (s->set[i])
            *s->set[i] = copy[i];
    }
    return r;
}

/* The select sets as pollfds; NULL with errno ENOMEM. */
static struct pollfd *select_pollfds(int nfds, const struct selsets *s,
                                     nfds_t *cnt)
{
    static const short ev[3] = {POLLIN, POLLOUT, POLLPRI};
    struct pollfd *p = malloc((size_t)(nfds > 0 ? nfds : 1) * sizeof(*p));
    if (p == NULL)
        return NULL;
    *cnt = 0;
    for (int fd = 0; fd < nfds; fd++) {
        short events = 0;
        for (int i = 0; i < 3; i++) {
            if (s->set[i] && FD_ISSET(fd, s->set[i]))
                events |= ev[i];
        }
        if (events)
            p[(*cnt)++] = (struct pollfd){.fd = fd, .events = events};
    }
    return p;
}

/* Linux select(2) leaves the time not slept in *tv. */
static void select_remaining(struct timeval *tv, int64_t deadline)
{
    if (tv == NULL || deadline < 0)
        return;
    int64_t left = deadline - cio_hub_now();
    left = left < 0 ? 0 : left;
    tv->tv_sec = (time_t)(left / 1000);
    tv->tv_usec = (suseconds_t)(left % 1000) * 1000;
}

static int hooked_select(int nfds, struct selsets *s, struct timeval *tv)
{
    bool zero = tv && tv->tv_sec == 0 && tv->tv_usec == 0;
    if (!zero && cio_task_cancelled())
        return cio__fail(ECANCELED);
    int r = select_probe(nfds, s);
    if (r != 0 || zero)
        return r;
    int64_t deadline = -1;
    if (tv != NULL)
        deadline = cio_deadline_in((int64_t)tv->tv_sec * 1000 +
                                   (tv->tv_usec + 999) / 1000);
    nfds_t cnt;
    struct pollfd *p = select_pollfds(nfds, s, &cnt);
    if (p == NULL)
        return cio__fail(ENOMEM);
    for (;;) {
        int rc = wait_pollfds(p, cnt, deadline);
        r = rc < 0 ? -1 : 0;
        if (rc == 0) {
            r = select_probe(nfds, s);
            if (r == 0 && !expired(deadline))
                continue;
        }
        break;
    }
    free(p);
    if (r == 0) {
        for (int i = 0; i < 3; i++) {
            if (s->set[i])
                FD_ZERO(s->set[i]);
        }
    }
    if (r >= 0)
        select_remaining(tv, deadline);
    return r;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
    if (!cio__hook_active() || nfds < 0 || nfds > FD_SETSIZE ||
        (tv && (tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)))
        return CIO__REAL(select)(nfds, rd, wr, ex, tv);
    struct selsets s = {{rd, wr, ex}};
    return hooked_select(nfds, &s, tv);
}

/* ---- epoll_wait: an epoll fd is readable while it has events ---- */

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout_ms)
{
    if (!cio__hook_active())
        return CIO__REAL(epoll_wait)(epfd, events, max, timeout_ms);
    if (timeout_ms != 0 && cio_task_cancelled())
        return cio__fail(ECANCELED);
    int r = CIO__REAL(epoll_wait)(epfd, events, max, 0);
    if (r != 0 || timeout_ms == 0)
        return r;
    int64_t deadline = deadline_of_ms(timeout_ms);
    for (;;) {
        int rc = cio_fd_wait_readable(epfd, deadline);
        if (rc == -ETIMEDOUT)
            return 0;
        if (rc < 0)
            return cio__fail(rc);
        r = CIO__REAL(epoll_wait)(epfd, events, max, 0);
        if (r != 0 || expired(deadline))
            return r;
    }
}
