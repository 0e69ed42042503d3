/* Events and wait groups: tasks wait until a flag is set or a count drops
 * to zero; both wake every waiter at once. */
#include <errno.h>
#include <stdlib.h>

#include "corio/sync.h"
#include "hub/wait.h"

struct cio_event {
    bool set;                  /* waits return at once while set */
    struct cio__waitq waiters; /* tasks in cio_event_wait */
    void *user;                /* the program's pointer (cio_event_set_data) */
};

int cio_event_new(cio_event_t **out)
{
    cio_event_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return -ENOMEM;
    *out = ev;
    return 0;
}

void cio_event_free(cio_event_t *ev)
{
    if (!ev)
        return;
    cio__waitq_wake_all(&ev->waiters, -EPIPE);
    free(ev);
}

void cio_event_set(cio_event_t *ev)
{
    ev->set = true;
    cio__waitq_wake_all(&ev->waiters, 0);
}

void cio_event_clear(cio_event_t *ev)
{
    ev->set = false;
}

bool cio_event_is_set(const cio_event_t *ev)
{
    return ev->set;
}

int cio_event_wait(cio_event_t *ev, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (ev->set)
        return 0;
    rc = cio__wait_in(&ev->waiters, t, NULL, NULL, deadline_ms, "event", 0);
    return rc;
}

struct cio_waitgroup {
    size_t count;              /* work not done yet */
    struct cio__waitq waiters; /* tasks in cio_waitgroup_wait */
    void *user; /* the program's pointer (cio_waitgroup_set_data) */
};

int cio_waitgroup_new(cio_waitgroup_t **out)
{
    cio_waitgroup_t *wg = calloc(1, sizeof *wg);
    if (!wg)
        return -ENOMEM;
    *out = wg;
    return 0;
}

void cio_waitgroup_free(cio_waitgroup_t *wg)
{
    if (!wg)
        return;
    cio__waitq_wake_all(&wg->waiters, -EPIPE);
    free(wg);
}

void cio_waitgroup_add(cio_waitgroup_t *wg, size_t n)
{
    wg->count += n;
}

void cio_waitgroup_done(cio_waitgroup_t *wg)
{
    if (wg->count == 0)
        return; /* more done than added: ignore rather than wrap */
    if (--wg->count == 0)
        cio__waitq_wake_all(&wg->waiters, 0);
}

int cio_waitgroup_wait(cio_waitgroup_t *wg, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    while (wg->count > 0) {
        rc = cio__wait_in(&wg->waiters, t, NULL, NULL, deadline_ms, "waitgroup",
                          (long)wg->count);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void cio_event_set_data(cio_event_t *ev, void *data)
{
    if (ev)
        ev->user = data;
}

void *cio_event_data(const cio_event_t *ev)
{
    return ev ? ev->user : NULL;
}

void cio_waitgroup_set_data(cio_waitgroup_t *wg, void *data)
{
    if (wg)
        wg->user = data;
}

void *cio_waitgroup_data(const cio_waitgroup_t *wg)
{
    return wg ? wg->user : NULL;
}
