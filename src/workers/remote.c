/* Tasks spawned on another worker. A request travels through the target's
 * inbox; the task's end is reported through a one-slot channel that the
 * joiner receives from, so joins work from any hub or plain thread. */
#include <errno.h>
#include <stdlib.h>

#include "corio/hub.h"
#include "corio/sync.h"
#include "corio/workers.h"
#include "workers-int.h"

struct cio_remote {
    struct cio__link link; /* in the worker's live list */
    atomic_int refs;       /* the handle + the running side */
    cio_task_cb fn;        /* what to run */
    void *arg;             /* its argument */
    cio__worker *worker;   /* where it runs (set there) */
    cio_task_t *task;      /* the task, while it runs (worker thread only) */
    cio_chan_t *done;      /* receives the remote itself when it ends */
    void *result;          /* fn's return value, written before `done` */
    int status;            /* 0, -ECANCELED, or why it could not start */
    bool joined;           /* (joiner) `done` was received */
    void *user;            /* the program's pointer (cio_remote_set_data) */
};

static void remote_unref(cio_remote_t *rt)
{
    if (atomic_fetch_sub(&rt->refs, 1) != 1)
        return;
    cio_chan_free(rt->done);
    free(rt);
}

/* Reports the end; the channel's lock orders result/status before it. */
static void remote_finish(cio_remote_t *rt, int status)
{
    rt->status = status;
    cio_chan_send(rt->done, rt); /* one slot, never full: cannot fail */
    remote_unref(rt);
}

int cio_workers_spawn(cio_workers_t *g, cio_remote_t **out, unsigned index,
                      cio_task_cb fn, void *arg)
{
    if (out)
        *out = NULL;
    if (g->processes)
        return -ENOTSUP;
    if (!fn || index < g->index_base || index - g->index_base >= g->threads)
        return -EINVAL;
    cio_remote_t *rt = calloc(1, sizeof(*rt));
    if (!rt)
        return -ENOMEM;
    if (cio_chan_new(&rt->done, 1) < 0) {
        free(rt);
        return -ENOMEM;
    }
    rt->fn = fn;
    rt->arg = arg;
    atomic_init(&rt->refs, out ? 2 : 1);
    int r = cio_chan_send(g->workers[index - g->index_base].inbox, rt);
    if (r < 0) {
        cio_chan_free(rt->done);
        free(rt);
        return r;
    }
    if (out)
        *out = rt;
    return 0;
}

static void *remote_run(void *arg)
{
    cio_remote_t *rt = arg;
    rt->result = rt->fn(rt->arg);
    cio__worker *w = rt->worker;
    cio__list_remove(&w->remotes, &rt->link);
    cio_waitgroup_done(w->remote_wg);
    rt->task = NULL;
    remote_finish(rt, cio_task_cancelled() ? -ECANCELED : 0);
    return NULL;
}

void cio__remote_start(cio__worker *w, void *request)
{
    cio_remote_t *rt = request;
    if (!w) { /* the group is gone: report that it never ran */
        remote_finish(rt, -EPIPE);
        return;
    }
    cio_task_t *task;
    if (cio_task_spawn(&task, remote_run, rt) < 0) {
        remote_finish(rt, -ENOMEM);
        return;
    }
    cio_task_set_name(task, "remote");
    rt->worker = w;
    rt->task = task;
    cio__list_push_front(&w->remotes, &rt->link);
    cio_waitgroup_add(w->remote_wg, 1);
    /* The task frees itself when it ends; the list keeps it reachable for
     * a kill at the stop until then. */
    cio_task_detach(task);
}

void cio__remote_kill_all(cio__worker *w)
{
    struct cio__link *l;
    cio__list_each (l, &w->remotes)
        cio_task_kill(cio__container_of(l, cio_remote_t, link)->task);
}

int cio_remote_join(cio_remote_t *rt, int64_t deadline_ms)
{
    if (!rt)
        return -EINVAL;
    if (!rt->joined) {
        void *item;
        int r = cio_chan_recv(rt->done, &item, deadline_ms);
        if (r < 0)
            return r;
        rt->joined = true;
    }
    return 0;
}

void *cio_remote_result(const cio_remote_t *rt)
{
    return rt && rt->joined ? rt->result : NULL;
}

int cio_remote_status(const cio_remote_t *rt)
{
    if (!rt)
        return -EINVAL;
    return rt->joined ? rt->status : -EBUSY;
}

void cio_remote_free(cio_remote_t *rt)
{
    if (rt)
        remote_unref(rt);
}

void cio_remote_set_data(cio_remote_t *rt, void *data)
{
    if (rt)
        rt->user = data;
}

void *cio_remote_data(const cio_remote_t *rt)
{
    return rt ? rt->user : NULL;
}
