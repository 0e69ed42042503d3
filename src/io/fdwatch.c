/* Watches that start a task when an fd becomes readable (corio/fdwatch.h).
 * The watch is a registration of the fd on the hub's loop with the watch
 * as its data: while it is armed no task and no waiter node exist, only
 * the caller's few bytes. The hub's own registration of the fd (for its
 * tasks' waits, io/fdwait.c) is dropped first, as a wait that ends without
 * its event drops it, and made again by the next task that waits. */
#include <errno.h>
#include <stddef.h>

#include "corio/fdwatch.h"
#include "corio/loop.h"
#include "io/fdwait.h"
#include "io/uring_hub.h"

/* Spawns w's task and disarms w; 0 or the spawn's error (w stays armed). */
static int fire(struct cio__hub *hub, cio_fd_watch_t *w)
{
    cio_task_t *t;
    int rc = cio__task_spawn_conn(&t, w->fn, w->arg);
    if (rc < 0)
        return rc;
    cio_task_detach(t);
    cio_loop_unregister(cio__run(hub)->loop, w->fd);
    w->fn = NULL;
    return 0;
}

/* The loop's report: level-triggered, so a spawn that failed is tried
 * again at the next iteration. */
static void on_ready(cio_loop_t *loop, int fd, int events, void *data)
{
    (void)loop, (void)fd, (void)events;
    struct cio__hub *hub = cio__hub_get();
    if (hub)
        fire(hub, data);
}

static bool has_waiters(const struct cio__fd *f)
{
    return f->reader || f->writer || !cio__waitq_empty(&f->readers) ||
           !cio__waitq_empty(&f->writers);
}

/* Takes fd from the hub's waits: true if data that streaming reads took
 * off the socket makes it readable already. */
static bool take_over(struct cio__hub *hub, int fd, struct cio__fd *f)
{
    bool ready = false;
#ifdef CIO_HAVE_URING
    if (f->stream & CIO__FD_STREAMING)
        ready = cio__stream_drop(hub, fd);
#endif
    /* Waiting before reading, as a readiness wait does: no streaming. */
    if (!(f->stream & CIO__FD_STREAMING))
        f->stream = CIO__FD_NOSTREAM;
    if (f->registered)
        cio_loop_unregister(cio__run(hub)->loop, fd);
    f->registered = 0;
    f->interest = 0;
    return ready;
}

int cio_fd_watch_start(cio_fd_watch_t *w, int fd, cio_task_cb fn, void *arg)
{
    struct cio__hub *hub = cio__hub_get();
    if (!hub)
        return -EPERM;
    if (!w || !fn || fd < 0)
        return -EINVAL;
    if (w->fn)
        return -EALREADY;
    struct cio__fd *f = cio__fd_at(hub, fd);
    if (!f)
        return -ENOMEM;
    if (has_waiters(f))
        return -EBUSY;
    w->fn = fn;
    w->arg = arg;
    w->fd = fd;
    if (take_over(hub, fd, f)) {
        int rc = fire(hub, w);
        if (rc < 0)
            w->fn = NULL;
        return rc;
    }
    int rc =
        cio_loop_register(cio__run(hub)->loop, fd, CIO_READABLE, on_ready, w);
    if (rc < 0)
        w->fn = NULL;
    return rc;
}

int cio_fd_watch_cancel(cio_fd_watch_t *w)
{
    if (!w)
        return -EINVAL;
    if (!w->fn)
        return -ENOENT;
    struct cio__hub *hub = cio__hub_get();
    if (hub)
        cio_loop_unregister(cio__run(hub)->loop, w->fd);
    w->fn = NULL;
    return 0;
}

int cio_fd_watch_fire(cio_fd_watch_t *w)
{
    if (!w)
        return -EINVAL;
    if (!w->fn)
        return -ENOENT;
    struct cio__hub *hub = cio__hub_get();
    return hub ? fire(hub, w) : -EPERM;
}
