/* Worker groups: N threads, each running cio_hub_run with its own loop and hub.
 * A worker's first task is a dispatcher that receives spawn requests on the
 * worker's inbox channel; closing the inbox is the stop (the wake reaches
 * the worker through cio_loop_post). */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "corio/hub.h"
#include "corio/io.h"
#include "corio/sync.h"
#include "corio/workers.h"
#include "workers-int.h"

static _Thread_local cio__worker *current_worker;

cio__worker *cio__worker_current(void)
{
    return current_worker;
}

int cio_workers_new(cio_workers_t **out, const cio_workers_opts_t *opts)
{
    cio_workers_opts_t none = {0};
    if (!opts)
        opts = &none;
    cio_workers_t *g = calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->processes = opts->processes;
    g->threads = opts->threads;
    if (g->threads == 0)
        g->threads = g->processes ? 1 : cio_workers_cpus();
    if (g->threads > 4096 || g->processes > 4096) {
        free(g);
        return -EINVAL;
    }
    g->catch_signals = opts->catch_signals;
    g->shared_listener = opts->shared_listener;
    g->pin_cpus = opts->pin_cpus;
    g->grace_ms =
        opts->stop_grace_ms > 0 ? opts->stop_grace_ms : CIO__WORKERS_GRACE_MS;
    if (opts->run)
        g->run = *opts->run;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->workers = calloc(g->threads, sizeof(*g->workers));
    if (!g->workers) {
        cio_workers_free(g);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < g->threads; i++) {
        cio__worker *w = &g->workers[i];
        w->group = g;
        w->local = i;
        if (cio_chan_new(&w->inbox, 0) < 0) {
            cio_workers_free(g);
            return -ENOMEM;
        }
    }
    *out = g;
    return 0;
}

void cio_workers_free(cio_workers_t *g)
{
    if (!g)
        return;
    if (g->state == CIO__G_STARTED && !current_worker) {
        cio_workers_stop(g);
        cio_workers_wait(g);
    }
    if (g->workers) {
        for (unsigned i = 0; i < g->threads; i++) {
            cio__worker *w = &g->workers[i];
            if (!w->inbox)
                continue;
            /* Spawn requests never run are released with their handles. */
            void *req;
            while (cio_chan_recv(w->inbox, &req, 0) == 0)
                cio__remote_start(NULL, req);
            cio_chan_free(w->inbox);
        }
    }
    for (unsigned i = 0; i < g->nlisten; i++)
        if (g->listen_fds[i] >= 0)
            close(g->listen_fds[i]);
    cio__signals_restore(g);
    free(g->listen_fds);
    free(g->workers);
    free(g->pids);
    free(g->born_ms);
    free(g->restart_ms);
    free(g->fast_deaths);
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

unsigned cio_workers_count(const cio_workers_t *g)
{
    return g->threads * (g->processes ? g->processes : 1);
}

int cio_workers_signal(const cio_workers_t *g)
{
    return atomic_load(&((cio_workers_t *)g)->stop_signal);
}

cio_workers_t *cio_workers_self(void)
{
    return current_worker ? current_worker->group : NULL;
}

int cio_workers_index(void)
{
    cio__worker *w = current_worker;
    return w ? (int)(w->group->index_base + w->local) : -1;
}

bool cio_workers_stopping(void)
{
    cio__worker *w = current_worker;
    return w && atomic_load(&w->stopping);
}

int cio_workers_wait_stop(int64_t deadline_ms)
{
    cio__worker *w = current_worker;
    if (!w || !w->stop_ev)
        return -EPERM;
    return cio_event_wait(w->stop_ev, deadline_ms);
}

/* Ends the worker's tasks after a stop: its main task and the remote tasks
 * get until stop_deadline, then are killed. */
static void worker_wind_down(cio__worker *w)
{
    if (w->main_task) {
        if (cio_task_join(w->main_task, w->stop_deadline) == -ETIMEDOUT) {
            cio_task_kill(w->main_task);
            cio_task_join(w->main_task, -1);
        }
        cio_task_free(w->main_task);
        w->main_task = NULL;
    }
    if (cio_waitgroup_wait(w->remote_wg, w->stop_deadline) == -ETIMEDOUT) {
        cio__remote_kill_all(w);
        cio_waitgroup_wait(w->remote_wg, -1);
    }
}

/* The worker's first task: starts the group's function, then serves spawn
 * requests until the inbox is closed. */
static void *worker_root(void *arg)
{
    cio__worker *w = arg;
    cio_workers_t *g = w->group;
    if (cio_event_new(&w->stop_ev) < 0 ||
        cio_waitgroup_new(&w->remote_wg) < 0) {
        w->rc = -ENOMEM;
        cio_workers_stop(g);
    } else if (g->fn && cio_task_spawn(&w->main_task, g->fn, g->arg) < 0) {
        w->rc = -ENOMEM;
        cio_workers_stop(g);
    } else if (w->main_task) {
        cio_task_set_name(w->main_task, "worker-main");
    }
    void *req;
    int r;
    while ((r = cio_chan_recv(w->inbox, &req, -1)) != -EPIPE)
        if (r == 0) /* without a waitgroup the request is only released */
            cio__remote_start(w->remote_wg ? w : NULL, req);
    w->stop_deadline = cio_deadline_in(g->grace_ms);
    atomic_store(&w->stopping, true);
    if (w->stop_ev) {
        cio_event_set(w->stop_ev);
        worker_wind_down(w);
        cio_event_free(w->stop_ev);
        w->stop_ev = NULL;
    }
    if (w->remote_wg)
        cio_waitgroup_free(w->remote_wg);
    w->remote_wg = NULL;
    return NULL;
}

static void *worker_thread(void *arg)
{
    cio__worker *w = arg;
    cio_workers_t *g = w->group;
    current_worker = w;
    int r = cio_hub_run_ex(&g->run, NULL, worker_root, w);
    if (r < 0 && w->rc == 0)
        w->rc = r;
    current_worker = NULL;
    /* Started and stopped together: one worker ending ends them all. */
    cio_workers_stop(g);
    return NULL;
}

/* Sets attr to start the thread of worker `index` on one CPU: the
 * index-th, modulo their count, of those the caller may run on. Set at
 * creation, so that the thread's stack and hub are first touched there. */
static void pin_attr(pthread_attr_t *attr, unsigned index)
{
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        return;
    int count = CPU_COUNT(&allowed);
    if (count <= 0)
        return;
    int skip = (int)(index % (unsigned)count);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || skip-- > 0)
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pthread_attr_setaffinity_np(attr, sizeof(one), &one);
        return;
    }
}

int cio__workers_start_threads(cio_workers_t *g)
{
    for (unsigned i = 0; i < g->threads; i++) {
        cio__worker *w = &g->workers[i];
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        if (g->pin_cpus)
            pin_attr(&attr, g->index_base + i);
        int r = pthread_create(&w->thread, &attr, worker_thread, w);
        pthread_attr_destroy(&attr);
        if (r != 0) {
            cio_workers_stop(g);
            cio__workers_join_threads(g);
            return -r;
        }
        w->thread_started = true;
    }
    return 0;
}

int cio__workers_join_threads(cio_workers_t *g)
{
    int rc = 0;
    for (unsigned i = 0; i < g->threads; i++) {
        cio__worker *w = &g->workers[i];
        if (!w->thread_started)
            continue;
        pthread_join(w->thread, NULL);
        w->thread_started = false;
        if (w->rc < 0 && rc == 0)
            rc = w->rc;
    }
    return rc;
}

int cio_workers_start(cio_workers_t *g, cio_task_cb fn, void *arg)
{
    if (g->state != CIO__G_NEW)
        return -EBUSY;
    if (current_worker || cio_hub_loop())
        return -EBUSY;
    g->fn = fn;
    g->arg = arg;
    g->starter = pthread_self();
    g->state = CIO__G_STARTED; /* before any worker can look at it */
    int r;
    if (g->processes) {
        r = cio__proc_start(g);
    } else {
        r = cio__signals_start(g);
        if (r == 0) {
            r = cio__workers_start_threads(g);
            if (r < 0)
                cio__signals_end(g);
        }
    }
    if (r < 0) {
        g->state = CIO__G_NEW;
        cio__signals_restore(g);
        return r;
    }
    return 0;
}

void cio_workers_stop(cio_workers_t *g)
{
    if (atomic_exchange(&g->stopping, true))
        return;
    if (g->processes) {
        cio__proc_stop(g);
        return;
    }
    for (unsigned i = 0; i < g->threads; i++)
        cio_chan_close(g->workers[i].inbox);
    pthread_mutex_lock(&g->mu);
    cio__listeners_close(g);
    pthread_mutex_unlock(&g->mu);
}

int cio_workers_wait(cio_workers_t *g)
{
    if (current_worker)
        return -EDEADLK; /* a worker cannot wait for itself */
    if (g->state != CIO__G_STARTED)
        return g->state == CIO__G_WAITED ? 0 : -EINVAL;
    int rc;
    if (g->processes) {
        rc = cio__proc_wait(g);
    } else {
        rc = cio__workers_join_threads(g);
        cio__signals_end(g);
    }
    cio__signals_restore(g);
    g->state = CIO__G_WAITED;
    return rc;
}

/* How often the first worker looks at the CPUs the process gets. */
#define STEER_PERIOD_MS 500

/* The first worker's watch: when the process gets fewer CPUs than the
 * group has listeners (taskset on the running process, a cgroup quota),
 * new connections go to as many workers as there are CPUs, so that the
 * work of the others does not share a CPU with theirs; all of them again
 * when the CPUs come back. Connections already open stay where they are. */
static void *steer_main(void *arg)
{
    cio_workers_t *g = arg;
    unsigned active = g->nlisten;
    while (cio_task_sleep(STEER_PERIOD_MS) == 0) {
        unsigned cpus = cio__process_cpus();
        unsigned want = cpus < g->nlisten ? cpus : g->nlisten;
        if (want != active && cio__listeners_steer(g, want) == 0)
            active = want;
    }
    return NULL;
}

int cio_workers_serve(cio_server_conn_cb handler, void *data, size_t max_conns)
{
    cio__worker *w = current_worker;
    if (!w)
        return -EPERM;
    int fd = cio_workers_listener();
    if (fd < 0)
        return fd;
    cio_server_t *srv;
    int r = cio_server_start(&srv, fd, handler, data, max_conns);
    if (r < 0) {
        close(fd);
        return r;
    }
    cio_task_t *steer = NULL;
    if (w->local == 0 && w->group->nlisten > 1 &&
        cio_task_spawn(&steer, steer_main, w->group) == 0)
        cio_task_set_name(steer, "steer");
    cio_workers_wait_stop(-1);
    if (steer) {
        cio_task_kill(steer);
        cio_task_join(steer, -1);
        cio_task_free(steer);
    }
    /* Handlers are killed a little before this task would be, so that the
     * server's own stop finishes first. */
    int64_t grace = w->group->grace_ms;
    int64_t margin = grace / 4 < 250 ? grace / 4 : 250;
    int64_t deadline =
        atomic_load(&w->stopping) ? w->stop_deadline : cio_deadline_in(grace);
    r = cio_server_stop(srv, deadline - margin);
    cio_server_free(srv);
    return r;
}

void cio_workers_set_data(cio_workers_t *g, void *data)
{
    if (g)
        g->user = data;
}

void *cio_workers_data(const cio_workers_t *g)
{
    return g ? g->user : NULL;
}
