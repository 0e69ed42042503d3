/* Watches that start a task when an fd becomes readable (corio/fdwatch.h).
 *
 * A set is an epoll instance that the hub's loop watches like any fd; its
 * watches are edge-triggered entries whose data is the caller's watch, so
 * an armed watch is no task and no waiter node, only the caller's bytes
 * and the kernel's entry. The entry stays after the watch fired: an edge
 * that comes meanwhile (the peer sent while a task ran) only marks the
 * watch poked, and arming it again is a store, or a task at once when
 * poked. A connection that alternates between a task and its watch thus
 * costs no epoll_ctl per round, only the set's share of the loop's wait.
 *
 * The hub's own registration of the fd (its tasks' waits, io/fdevent.c) is
 * dropped when a watch is armed, as a wait that ends without its event
 * drops it, and made again by the next task that waits. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "corio/fdwatch.h"
#include "corio/loop.h"
#include "io/fdwait.h"

/* cio_fd_watch_t.state */
enum { W_DETACHED, W_ARMED, W_FIRED };

struct cio_watchset {
    int epfd;         /* the edge-triggered entries of the watches */
    cio_loop_t *loop; /* the hub's loop, which watches epfd */
};

/* Events a drain takes per epoll_wait. */
#define DRAIN_BATCH 64

/* Spawns w's task; 0 or the spawn's error (w stays as it was). */
static int fire(cio_fd_watch_t *w)
{
    cio_task_t *t;
    int rc = cio__task_spawn_conn(&t, w->fn, w->arg);
    if (rc < 0)
        return rc;
    cio__coro_set_static_name(t->coro, "watch"); /* for cio_hub_dump */
    cio_task_detach(t);
    w->state = W_FIRED;
    w->poked = 0;
    return 0;
}

/* Adds (EPOLL_CTL_ADD) or modifies w's edge-triggered entry in its set:
 * 0 or -errno. */
static int watch_ctl(cio_fd_watch_t *w, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                             .data.ptr = w};
    return epoll_ctl(w->set->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

/* Queues w's event again (a modify looks at the fd's readiness anew): a
 * spawn that failed is tried at the next iteration. */
static void rearm(cio_fd_watch_t *w)
{
    (void)watch_ctl(w, EPOLL_CTL_MOD);
}

/* The loop found the set readable: act on every edge queued. After a
 * spawn that failed it stops, so that what it queued again waits for the
 * next iteration. */
static void drain(cio_loop_t *loop, int fd, int events, void *data)
{
    (void)loop, (void)events, (void)data;
    struct epoll_event ev[DRAIN_BATCH];
    bool failed = false;
    int n;
    do {
        n = epoll_wait(fd, ev, DRAIN_BATCH, 0);
        for (int i = 0; i < n; i++) {
            cio_fd_watch_t *w = ev[i].data.ptr;
            if (w->state == W_FIRED) {
                w->poked = 1; /* its task runs: told when armed again */
            } else if (w->state == W_ARMED && fire(w) < 0) {
                rearm(w);
                failed = true;
            }
        }
    } while (n == DRAIN_BATCH && !failed);
}

int cio_watchset_new(cio_watchset_t **out)
{
    cio_loop_t *loop = cio_hub_loop();
    if (!loop)
        return -EPERM;
    if (!out)
        return -EINVAL;
    cio_watchset_t *set = calloc(1, sizeof *set);
    if (!set)
        return -ENOMEM;
    set->loop = loop;
    set->epfd = epoll_create1(EPOLL_CLOEXEC);
    int rc = set->epfd < 0 ? -errno : 0;
    if (rc == 0)
        rc = cio_loop_register(loop, set->epfd, CIO_READABLE, drain, set);
    if (rc < 0) {
        if (set->epfd >= 0)
            close(set->epfd);
        free(set);
        return rc;
    }
    *out = set;
    return 0;
}

void cio_watchset_free(cio_watchset_t *set)
{
    if (!set)
        return;
    cio_loop_unregister(set->loop, set->epfd);
    close(set->epfd);
    free(set);
}

/* Makes w's entry in set for fd; 0 or -errno. */
static int attach(cio_fd_watch_t *w, cio_watchset_t *set, int fd)
{
    w->set = set;
    w->fd = fd;
    w->poked = 0;
    return watch_ctl(w, EPOLL_CTL_ADD);
}

int cio_fd_watch_start(cio_fd_watch_t *w, cio_watchset_t *set, int fd,
                       cio_task_cb fn, void *arg)
{
    struct cio__hub *hub = cio__hub_get();
    if (!hub)
        return -EPERM;
    if (!w || !set || !fn || fd < 0)
        return -EINVAL;
    if (set->loop != cio__run(hub)->loop)
        return -EPERM;
    if (w->state == W_ARMED)
        return -EALREADY;
    struct cio__fd *f = cio__fd_at(hub, fd);
    if (!f)
        return -ENOMEM;
    if (!cio__fd_idle(f))
        return -EBUSY;
    if (w->state == W_FIRED && (w->set != set || w->fd != fd))
        cio_fd_watch_cancel(w);
    bool ready = cio__fd_hand_over(hub, fd, f);
    if (w->state == W_DETACHED) {
        int rc = attach(w, set, fd);
        if (rc < 0)
            return rc;
    }
    w->fn = fn;
    w->arg = arg;
    w->state = W_ARMED;
    /* Readable since it fired: an edge that nobody would see again. */
    if ((ready || w->poked) && fire(w) < 0)
        rearm(w);
    return 0;
}

int cio_fd_watch_cancel(cio_fd_watch_t *w)
{
    if (!w)
        return -EINVAL;
    if (w->state == W_DETACHED)
        return -ENOENT;
    bool armed = w->state == W_ARMED;
    epoll_ctl(w->set->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->state = W_DETACHED;
    return armed;
}

int cio_fd_watch_fire(cio_fd_watch_t *w)
{
    if (!w)
        return -EINVAL;
    if (w->state != W_ARMED)
        return -ENOENT;
    return cio__hub_get() ? fire(w) : -EPERM;
}
