/* Nurseries: a list of running children, a wait for the list to empty, and
 * a close that kills the children and waits under a shield
 * (cio_task_shield), so that a kill of the closing task cuts the wait to
 * the nursery's grace instead of ending it. */
#include <errno.h>
#include <stdlib.h>

#include "common/list.h"
#include "corio/nursery.h"
#include "hub/hub_internal.h"

struct child {
    cio_nursery_t *n;      /* the nursery it belongs to */
    cio_task_t *task;      /* the child task, while it runs */
    cio_task_cb fn;        /* the program's function */
    void *arg;             /* its argument */
    struct cio__link link; /* in the nursery's running children */
};

struct cio_nursery {
    struct cio__hub *hub;      /* hub the children run on */
    struct cio__list children; /* running children, newest first */
    size_t running;            /* how many */
    int64_t grace_ms;          /* wait left to a killed closer */
    bool closing;              /* cio_nursery_close was called */
    bool freed;                /* the last child frees the nursery */
    struct cio__waitq idle;    /* tasks waiting for running == 0 */
    void *user;                /* the program's pointer */
};

int cio_nursery_new(cio_nursery_t **out, int64_t grace_ms)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    struct cio__hub *hub = cio__hub_get();
    if (!hub)
        return -EPERM;
    cio_nursery_t *n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    n->hub = hub;
    n->grace_ms = grace_ms < 0 ? 0 : grace_ms;
    *out = n;
    return 0;
}

static void *child_main(void *arg)
{
    struct child *c = arg;
    cio_nursery_t *n = c->n;
    void *result = c->fn(c->arg);
    cio__list_remove(&n->children, &c->link);
    free(c);
    if (--n->running == 0) {
        cio__waitq_wake_all(&n->idle, 0);
        if (n->freed)
            free(n);
    }
    return result;
}

int cio_nursery_spawn(cio_nursery_t *n, cio_task_t **out, cio_task_cb fn,
                      void *arg)
{
    if (out)
        *out = NULL;
    if (!n || !fn)
        return -EINVAL;
    if (n->closing)
        return -EPIPE;
    struct child *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->n = n;
    c->fn = fn;
    c->arg = arg;
    int rc = cio_task_spawn(&c->task, child_main, c);
    if (rc < 0) {
        free(c);
        return rc;
    }
    cio__list_push_front(&n->children, &c->link);
    n->running++;
    if (out)
        *out = c->task;
    else
        cio_task_detach(c->task);
    return 0;
}

static bool is_child(const cio_nursery_t *n, const cio_task_t *t)
{
    const struct cio__link *l;
    cio__list_each (l, &n->children)
        if (cio__container_of(l, struct child, link)->task == t)
            return true;
    return false;
}

/* Waits until no child runs. */
static int wait_idle(cio_nursery_t *n, cio_task_t *t, int64_t deadline_ms,
                     const char *what)
{
    int rc = 0;
    while (n->running > 0) {
        rc = cio__wait_in(&n->idle, t, NULL, NULL, deadline_ms, what,
                          (long)n->running);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cio_nursery_join(cio_nursery_t *n, int64_t deadline_ms)
{
    if (!n)
        return -EINVAL;
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (is_child(n, t))
        return -EDEADLK;
    return wait_idle(n, t, deadline_ms, "nursery join");
}

void cio_nursery_kill(cio_nursery_t *n)
{
    if (!n)
        return;
    struct cio__link *l;
    cio__list_each (l, &n->children)
        cio_task_kill(cio__container_of(l, struct child, link)->task);
}

int cio_nursery_close(cio_nursery_t *n, int64_t deadline_ms)
{
    if (!n)
        return -EINVAL;
    cio_task_t *t = cio__self();
    if (t && is_child(n, t))
        return -EDEADLK;
    n->closing = true;
    cio_nursery_kill(n);
    int rc = -EPERM;
    if (t) {
        int64_t old = cio_task_shield(n->grace_ms);
        do /* an interrupt does not cut a close short */
            rc = wait_idle(n, t, deadline_ms, "nursery close");
        while (rc == -EINTR);
        cio_task_shield(old);
    }
    if (n->running == 0)
        free(n);
    else
        n->freed = true;
    return rc;
}

size_t cio_nursery_running(const cio_nursery_t *n)
{
    return n ? n->running : 0;
}

void cio_nursery_set_data(cio_nursery_t *n, void *data)
{
    if (n)
        n->user = data;
}

void *cio_nursery_data(const cio_nursery_t *n)
{
    return n ? n->user : NULL;
}
