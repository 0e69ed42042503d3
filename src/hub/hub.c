/* The hub: one per thread, the coroutine that called cio_hub_run. It runs the
 * ready tasks in FIFO order, then one iteration of the event loop (without
 * blocking while tasks are ready), whose callbacks make more tasks ready.
 * When every task waits and nothing the hub knows of can wake one (no fd
 * wait, no deadline, no offload job, no external reference) and the loop
 * itself has nothing left, the run ends with -EDEADLK and a report. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "hub/hub_internal.h"
#include "loop/uring.h"
#include "corio/hub_stacks.h"

void cio__task_run_next(struct cio__hub *hub);
void cio__task_unlink(cio_task_t *t);
void cio__task_destroy(cio_task_t *t);
void cio__shrink_idle(struct cio__hub *hub);
void cio__shrink_clear(struct cio__hub *hub);

_Thread_local struct cio__hub *cio__tls_hub;
/* cio_hub_set_shrink_after called outside a run: used by the next run. */
static _Thread_local int64_t tls_shrink_default;
/* The same for cio_hub_set_copied_stacks and its connections' variant. */
static _Thread_local bool tls_copied_default, tls_conn_copied_default;

cio_loop_t *cio_hub_loop(void)
{
    return cio__tls_hub ? cio__tls_hub->io.run.loop : NULL;
}

int64_t cio_hub_now(void)
{
    if (cio__tls_hub)
        return cio_loop_now(cio__tls_hub->io.run.loop);
    return cio__mono_ms();
}

int64_t cio_deadline_in(int64_t ms)
{
    return ms < 0 ? -1 : cio_hub_now() + ms;
}

size_t cio_hub_task_count(void)
{
    return cio__tls_hub ? cio__tls_hub->live : 0;
}

/* ---- keeping the loop waiting for things it cannot see ---- */

/* Offload jobs and external sources end in posts or signals, which do not
 * keep a loop alive: hold a loop reference while there are any. */
void cio__hub_keepalive(struct cio__hub *hub)
{
    bool need = hub->io.inflight > 0 || hub->refs > 0;
    if (need && !hub->loop_ref)
        cio_loop_ref(hub->io.run.loop);
    else if (!need && hub->loop_ref)
        cio_loop_unref(hub->io.run.loop);
    hub->loop_ref = need;
}

void cio_hub_ref(void)
{
    if (cio__tls_hub) {
        cio__tls_hub->refs++;
        cio__hub_keepalive(cio__tls_hub);
    }
}

void cio_hub_unref(void)
{
    if (cio__tls_hub && cio__tls_hub->refs > 0) {
        cio__tls_hub->refs--;
        cio__hub_keepalive(cio__tls_hub);
    }
}

/* ---- shrinking the stacks of tasks that wait long ---- */

static void shrink_cb(cio_timer_t *timer)
{
    cio__shrink_idle(timer->data);
}

static void shrink_timer_update(struct cio__hub *hub)
{
    if (hub->shrink_after_ms <= 0) {
        cio_timer_stop(&hub->shrink_timer);
        cio__shrink_clear(hub);
        return;
    }
    int64_t period = hub->shrink_after_ms / 2;
    if (period < 10)
        period = 10;
    cio_timer_start(&hub->shrink_timer, period, period);
}

void cio_hub_set_shrink_after(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    if (!cio__tls_hub) {
        tls_shrink_default = ms;
        return;
    }
    cio__tls_hub->shrink_after_ms = ms;
    shrink_timer_update(cio__tls_hub);
}

void cio_hub_set_copied_stacks(bool on)
{
    if (!cio__tls_hub)
        tls_copied_default = on;
    else
        cio__tls_hub->copied_stacks = on;
}

void cio_hub_set_conn_copied_stacks(bool on)
{
    if (!cio__tls_hub)
        tls_conn_copied_default = on;
    else
        cio__tls_hub->conn_copied = on;
}

/* ---- the debugging listing ---- */

static const char *state_name(int state)
{
    switch (state) {
    case CIO__READY:
        return "ready";
    case CIO__RUNNING:
        return "running";
    case CIO__WAITING:
        return "waiting";
    default:
        return "done";
    }
}

void cio_hub_dump(FILE *out)
{
    struct cio__hub *hub = cio__tls_hub;
    if (!hub) {
        fprintf(out, "corio: no hub on this thread\n");
        return;
    }
    int64_t now = cio_loop_now(hub->io.run.loop);
    fprintf(out,
            "corio: %zu tasks (backend %s; fd waits %zu, deadlines %zu, "
            "offload jobs %zu, references %zu)\n",
            hub->live, cio_loop_backend(hub->io.run.loop), hub->io.fd_waiters,
            hub->timers, hub->io.inflight, hub->refs);
    struct cio__link *l;
    cio__list_each (l, &hub->all) {
        const struct cio__task *tk = cio__task_of(l, all_link);
        const cio_task_t *t = &tk->io.task;
        const char *name = cio_coro_name(t->coro);
        fprintf(out, "  task %llu %-12s %-8s",
                (unsigned long long)cio_coro_id(t->coro),
                name && *name ? name : "-", state_name(t->state));
        if (t->state == CIO__WAITING) {
            fprintf(out, " on %s", t->wait_what ? t->wait_what : "?");
            if (t->wait_arg)
                fprintf(out, " %ld", t->wait_arg);
            fprintf(out, " for %lld ms", (long long)(now - t->wait_since));
            if (t->timer_armed)
                fprintf(out, ", deadline in %lld ms",
                        (long long)(tk->timer->deadline_ms - now));
        }
        if (t->killed)
            fprintf(out, " (killed)");
        fputc('\n', out);
    }
    fflush(out);
}

static void sigquit_cb(cio_loop_t *loop, int signum, void *data)
{
    (void)loop, (void)signum, (void)data;
    cio_hub_dump(stderr);
}

/* ---- the run ---- */

/* Tasks run between two looks at the loop while tasks are ready: a poll
 * costs a system call, so tasks handing work to each other do not pay one
 * per switch, and IO still gets a look every few dozen tasks. */
#define RUNS_PER_POLL 64

/* Live tasks from which their memory is taken as cold when they run again
 * (struct cio__hub_io's cold): a few hundred bytes of stack, task and fd
 * state each, past what the caches keep between two runs of each. */
#define COLD_TASKS 512

/* Runs the tasks ready now, a round; those that become ready meanwhile
 * wait for the next one. Returns how many ran: each task of the round
 * leaves the queue once, from the hub or from the task before it. */
static size_t run_ready(struct cio__hub *hub)
{
    size_t n = cio__ring_len(&hub->io.run.runq);
    hub->round_left = n;
    while (hub->round_left)
        cio__task_run_next(hub);
    return n;
}

/* True when no task can ever be woken again. */
static bool deadlocked(struct cio__hub *hub)
{
    if (cio__ring_len(&hub->io.run.runq) || hub->io.fd_waiters || hub->timers ||
        hub->io.inflight || hub->refs)
        return false;
    /* Our own idle registrations and timers must not hide it; then ask the
     * loop whether anything the program registered itself remains. */
    cio__fd_drop_idle(hub);
    bool shrinking = cio_timer_active(&hub->shrink_timer);
    cio_timer_stop(&hub->shrink_timer);
    int rc = cio_loop_run(hub->io.run.loop, CIO_RUN_NOWAIT);
    cio__fd_flush(hub);
    if (shrinking)
        shrink_timer_update(hub);
    return rc == 0 && !cio__ring_len(&hub->io.run.runq);
}

static int hub_loop(struct cio__hub *hub)
{
    size_t since_poll = 0;
    for (;;) {
        since_poll += run_ready(hub);
        if (hub->live == 0 && hub->io.inflight == 0)
            return 0;
        if (cio__ring_len(&hub->io.run.runq) && since_poll < RUNS_PER_POLL)
            continue;
        since_poll = 0;
        if (hub->live > 0 && deadlocked(hub)) {
            fprintf(stderr, "corio: deadlock: every task waits and nothing "
                            "can wake one\n");
            cio_hub_dump(stderr);
            return -EDEADLK;
        }
        hub->io.cold = hub->live >= COLD_TASKS;
#ifdef CIO_HAVE_URING
        if (hub->io.uring)
            cio__uring_set_cold(hub->io.uring, hub->io.cold);
#endif
        int rc = cio_loop_run(hub->io.run.loop, cio__ring_len(&hub->io.run.runq)
                                                    ? CIO_RUN_NOWAIT
                                                    : CIO_RUN_ONCE);
        cio__fd_flush(hub);
        if (rc < 0)
            return rc;
    }
}

static void hub_teardown(struct cio__hub *hub)
{
    /* Tasks left behind by a deadlock or a loop error: drop their stacks. */
    struct cio__link *l;
    cio__list_each (l, &hub->all)
        cio__task_unlink(&cio__task_of(l, all_link)->io.task);
    while ((l = hub->all.head) != NULL) {
        cio__list_remove(&hub->all, l);
        cio__task_destroy(&cio__task_of(l, all_link)->io.task);
    }
    cio_timer_stop(&hub->shrink_timer);
    if (hub->sigquit)
        cio_loop_signal_stop(hub->io.run.loop, SIGQUIT);
    cio__fd_table_free(hub);
    cio__ring_free(&hub->io.run.runq);
}

int cio_hub_run_ex(const cio_hub_opts_t *opts, void **result,
                   cio_task_cb main_fn, void *arg)
{
    static const cio_hub_opts_t defaults;
    if (!opts)
        opts = &defaults;
    if (result)
        *result = NULL;
    if (!main_fn)
        return -EINVAL;
    if (cio__tls_hub)
        return -EBUSY;
    struct cio__hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return -ENOMEM;
    int rc = cio_loop_new(&hub->io.run.loop, opts->backend);
    if (rc < 0) {
        free(hub);
        return rc;
    }
    hub->io.run.now = cio__loop_clock(hub->io.run.loop);
    if (!getenv("CIO_URING_READINESS"))
        hub->io.uring = cio__loop_uring(hub->io.run.loop);
    hub->coro = cio_coro_current();
    hub->stack_size = opts->stack_size;
    /* CIO_HUB_COPIED_STACKS=1 in the environment turns them on too. */
    const char *env = getenv("CIO_HUB_COPIED_STACKS");
    hub->copied_stacks = tls_copied_default || (env && strcmp(env, "1") == 0);
    hub->conn_copied = tls_conn_copied_default;
    cio__timer_init(&hub->shrink_timer, hub->io.run.loop, shrink_cb, hub);
    cio__fd_table_init(hub);
    cio__tls_hub = hub;
    if (tls_shrink_default > 0)
        cio_hub_set_shrink_after(tls_shrink_default);
    if (opts->dump_on_sigquit &&
        cio_loop_signal(hub->io.run.loop, SIGQUIT, sigquit_cb, hub) == 0)
        hub->sigquit = true;

    cio_task_t *main_task;
    rc = cio_task_spawn(&main_task, main_fn, arg);
    if (rc == 0) {
        cio__coro_set_static_name(main_task->coro, "main");
        rc = hub_loop(hub);
        if (rc == 0 && result)
            *result = cio__task(main_task)->result;
        if (main_task->state == CIO__DONE)
            cio_task_free(main_task);
        else
            main_task->detached = true; /* freed by the teardown */
    }
    hub_teardown(hub);
    cio__tls_hub = NULL;
    cio_loop_free(hub->io.run.loop);
    free(hub);
    return rc;
}

int cio_hub_run(void **result, cio_task_cb main_fn, void *arg)
{
    return cio_hub_run_ex(NULL, result, main_fn, arg);
}
