/* Tasks: spawn, the one wait primitive (block/wake), sleep, join, kill and
 * interrupt. The hub's run loop itself is in hub.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coro/room.h"
#include "hub/hub_internal.h"

/* ---- wait queues ---- */

void cio__waitq_push(struct cio__waitq *q, struct cio__waiter *w, cio_task_t *t)
{
    w->task = t;
    w->q = q;
    cio__list_push_back(&q->waiters, &w->link);
}

void cio__waitq_remove(struct cio__waiter *w)
{
    struct cio__waitq *q = w->q;
    if (!q)
        return;
    cio__list_remove(&q->waiters, &w->link);
    w->q = NULL;
}

bool cio__waitq_wake_one(struct cio__waitq *q, int rc, void *value)
{
    struct cio__waiter *w;
    while ((w = cio__waitq_pop(q)) != NULL) {
        /* A node whose task another trigger woke is just dropped. */
        if (w->task->state == CIO__WAITING) {
            w->value = value;
            cio__wake(w->task, rc);
            return true;
        }
    }
    return false;
}

int cio__wait_in(struct cio__waitq *q, cio_task_t *t, void *value, void **got,
                 int64_t deadline_ms, const char *what, long arg)
{
    struct cio__waiter *w = &t->wnode[0];
    w->value = value;
    cio__waitq_push(q, w, t);
    int rc = cio__block(t, deadline_ms, what, arg);
    cio__waitq_remove(w);
    if (got)
        *got = w->value;
    return rc;
}

size_t cio__waitq_wake_all(struct cio__waitq *q, int rc)
{
    size_t n = 0;
    struct cio__waiter *w;
    for (; (w = cio__waitq_pop(q)) != NULL; n++)
        cio__wake(w->task, rc);
    return n;
}

/* ---- the run queue and the wait primitive ---- */

/* Stack lines prefetched per task: the frames above a waiting task's saved
 * sp, up to those of the function that called the IO. */
#define STACK_LINES 6
/* Tasks prefetched together. */
#define BATCH 8

/* Warms the caches for the next tasks to run; returns how many of them
 * will find their stacks warm. With thousands of connections a task has
 * gone cold, in the caches and in the TLB, by the time it runs: resuming
 * it waits for its struct, its coroutine (whose first word is the saved
 * stack pointer, src/coro/switch.h), a page walk for its stack, a few
 * misses there, and the state of the fd it waited for. One task at a time,
 * with system calls in between, those waits follow each other; issued
 * together for a batch, they overlap. So every BATCH tasks the stacks of
 * the next batch are prefetched, through coroutine lines prefetched one
 * batch earlier, through task lines prefetched one batch before that.
 * Only hints: a prefetch never faults. */
static size_t prefetch_batch(const struct cio__hub *hub)
{
    const struct cio__ring *q = &hub->io.run.runq;
    size_t n = cio__ring_len(q);
    for (size_t i = 2 * BATCH; i < 3 * BATCH && i < n; i++)
        __builtin_prefetch(cio__ring_at(q, i));
    for (size_t i = BATCH; i < 2 * BATCH && i < n; i++)
        __builtin_prefetch(((const cio_task_t *)cio__ring_at(q, i))->coro);
    size_t k = n < BATCH ? n : BATCH;
    for (size_t i = 0; i < k; i++) {
        const cio_task_t *t = cio__ring_at(q, i);
        const char *sp = cio__coro_saved_sp(t->coro);
        for (int j = 0; sp && j < STACK_LINES; j++)
            __builtin_prefetch(sp + 64 * j);
        if (t->wait_obj)
            __builtin_prefetch(t->wait_obj);
    }
    return k;
}

/* take_next with many tasks: their stacks warmed a batch ahead. */
static __attribute__((noinline)) cio_task_t *
take_next_cold(struct cio__hub *hub)
{
    if (!hub->warm)
        hub->warm = prefetch_batch(hub);
    hub->warm--;
    return cio__runq_pop(hub);
}

/* Takes the next task off the run queue (which is not empty). */
static inline cio_task_t *take_next(struct cio__hub *hub)
{
    if (__builtin_expect(hub->io.cold, 0))
        return take_next_cold(hub);
    return cio__runq_pop(hub);
}

/* The task that has waited longest, of those on the shrink list. */
static cio_task_t *idle_first(struct cio__hub *hub)
{
    return &cio__task_of(hub->idle.head, idle_link)->io.task;
}

static void idle_unlink(struct cio__hub *hub, cio_task_t *t)
{
    struct cio__task *tk = cio__task(t);
    if (!t->idle_listed)
        return;
    cio__list_remove(&hub->idle, &tk->idle_link);
    t->idle_listed = false;
}

static void idle_append(struct cio__hub *hub, cio_task_t *t)
{
    struct cio__task *tk = cio__task(t);
    cio__list_push_back(&hub->idle, &tk->idle_link);
    t->idle_listed = true;
}

static void disarm_timer(cio_task_t *t)
{
    if (t->timer_armed) {
        cio_timer_stop(cio__task(t)->timer);
        t->timer_armed = false;
        t->hub->timers--;
    }
}

bool cio__wake_unlist(cio_task_t *t)
{
    disarm_timer(t);
    idle_unlink(t->hub, t);
    return true;
}

static void deadline_cb(cio_timer_t *timer)
{
    cio_task_t *t = timer->data;
    t->timer_armed = false;
    t->hub->timers--;
    cio__wake(t, -ETIMEDOUT);
}

/* t's deadline timer, made on first use; NULL without memory. */
static cio_timer_t *task_timer(cio_task_t *t)
{
    struct cio__task *tk = cio__task(t);
    if (__builtin_expect(tk->timer != NULL, 1))
        return tk->timer;
    tk->timer = malloc(sizeof *tk->timer);
    if (tk->timer)
        cio__timer_init(tk->timer, t->hub->io.run.loop, deadline_cb, t);
    return tk->timer;
}

/* Starts t's deadline timer for deadline_ms: 0 or -ENOMEM. */
static int arm_timer(cio_task_t *t, int64_t deadline_ms)
{
    cio_timer_t *timer = task_timer(t);
    if (!timer || cio_timer_start_at(timer, deadline_ms) < 0)
        return -ENOMEM;
    if (!t->timer_armed) {
        t->timer_armed = true;
        t->hub->timers++;
    }
    return 0;
}

/* True while a killed task's shield still lets it wait. */
static bool shield_open(const cio_task_t *t)
{
    return cio__task(t)->shield_grace >= 0 &&
           cio_loop_now(t->hub->io.run.loop) <
               cio__task(t)->killed_at + cio__task(t)->shield_grace;
}

/* Marks t's coroutine for the IO calls' short way (io/io.c) while t has
 * no alert and its hub polls for readiness: a call then reads one byte of
 * the running coroutine to know it may. Called wherever those change. */
static void fast_update(cio_task_t *t)
{
    cio__coro_set_flag(t->coro, t->alert == 0 && !cio__io(t->hub)->uring);
}

int cio__enter_flagged(cio_task_t *t)
{
    if (t->killed && !shield_open(t))
        return -ECANCELED;
    if (!t->interrupt)
        return 0;
    t->interrupt = false;
    fast_update(t);
    return -EINTR;
}

/* Makes t, just taken off the run queue, the running task. */
static void enter(struct cio__hub *hub, cio_task_t *t)
{
    if (hub->round_left)
        hub->round_left--;
    hub->io.run.current = t;
    t->state = CIO__RUNNING;
}

/* Marks the running task t waiting, on what/arg since now. */
static inline void block_start(struct cio__hub *hub, cio_task_t *t,
                               const char *what, long arg)
{
    t->state = CIO__WAITING;
    t->wait_what = what;
    t->wait_arg = arg;
    t->shrunk = false;
    t->wait_since = *hub->io.run.now;
}

int cio__woken_rc(cio_task_t *t)
{
    if (__builtin_expect(t->wake_rc == -ETIMEDOUT, 0) && t->killed &&
        !shield_open(t))
        return -ECANCELED; /* the grace after a kill ran out */
    return t->wake_rc;
}

/* leave_to the next task with many tasks (take_next_cold). */
static __attribute__((noinline)) int leave_cold(struct cio__hub *hub)
{
    cio_task_t *next = take_next_cold(hub);
    enter(hub, next);
    return cio__coro_resume(next->coro);
}

/* leave's switch: to next, the first of the run queue, if it ran before,
 * else to the hub. */
static inline __attribute__((always_inline)) int leave_to(struct cio__hub *hub,
                                                          cio_task_t *next)
{
    if (next && next->started) {
        if (__builtin_expect(hub->io.cold, 0))
            return leave_cold(hub);
        enter(hub, cio__runq_pop(hub));
        return cio__coro_resume(next->coro);
    }
    return cio__coro_resume(hub->coro);
}

/* leave while a task keeps its shared stack: the next one may not run. */
static __attribute__((noinline)) int leave_pinned(struct cio__hub *hub,
                                                  cio_task_t *next)
{
    if (next && cio__coro_blocked(next->coro))
        next = NULL;
    return leave_to(hub, next);
}

/* Switches away from the running task, which has queued itself or set up
 * its wait: straight to the next task of the hub's round when that one has
 * run before, else to the hub. Tasks that hand over to each other so pay
 * one switch each, not two. A task's first switch comes from the hub,
 * which its coroutine returns to when it ends. The switch is the last act
 * (cio__coro_resume): 0 once the task runs again. */
static inline __attribute__((always_inline)) int leave(struct cio__hub *hub)
{
    cio_task_t *next =
        hub->round_left ? cio__ring_first(&hub->io.run.runq) : NULL;
    if (__builtin_expect(hub->pins != 0, 0))
        return leave_pinned(hub, next);
    return leave_to(hub, next);
}

/* Sets the running task t waiting and switches away; returns the code it
 * was woken with. Inlined into both entries, so that a wait is one frame:
 * a waiting task keeps its frames (with copied stacks, all of its memory
 * besides its struct), and each level costs a call and its saved
 * registers. t and its hub are read again after the switch, not kept. */
static inline __attribute__((always_inline)) int
block_now(cio_task_t *t, const char *what, long arg)
{
    struct cio__hub *hub = t->hub;
    block_start(hub, t, what, arg);
    leave(hub);
    /* Woken: cio__wake already disarmed the timer and the shrink entry. */
    t = cio__tls_hub->io.run.current;
    t->wait_what = NULL;
    return cio__woken_rc(t);
}

int cio__block(cio_task_t *t, int64_t deadline_ms, const char *what, long arg)
{
    struct cio__hub *hub = t->hub;
    if (__builtin_expect(t->alert != 0, 0)) {
        if (t->killed) {
            if (!shield_open(t))
                return -ECANCELED;
            int64_t limit =
                cio__task(t)->killed_at + cio__task(t)->shield_grace;
            if (deadline_ms < 0 || deadline_ms > limit)
                deadline_ms = limit;
        }
        if (t->interrupt) {
            t->interrupt = false;
            fast_update(t);
            return -EINTR;
        }
    }
    if (deadline_ms >= 0) {
        if (cio__expired(hub, deadline_ms))
            return -ETIMEDOUT;
        if (arm_timer(t, deadline_ms) < 0)
            return -ENOMEM;
    }
    if (hub->shrink_after_ms > 0 && !t->keep_stack)
        idle_append(hub, t);
    return block_now(t, what, arg);
}

int cio__block_raw(cio_task_t *t, const char *what, long arg)
{
    return block_now(t, what, arg);
}

/* cio__suspend of a task with an alert, or that may be shrunk. */
static __attribute__((noinline)) int suspend_slow(cio_task_t *t,
                                                  const char *what, long arg)
{
    t->wake_rc = cio__block(t, -1, what, arg);
    return 0;
}

int cio__suspend(cio_task_t *t, const char *what, long arg)
{
    struct cio__hub *hub = t->hub;
    if (__builtin_expect(
            t->alert != 0 || (hub->shrink_after_ms > 0 && !t->keep_stack), 0))
        return suspend_slow(t, what, arg);
    block_start(hub, t, what, arg);
    return leave(hub);
}

/* ---- spawn and the task's life ---- */

void *cio__task_arg(cio_task_t *t)
{
    return cio__task(t)->arg;
}

static void *task_main(void *arg)
{
    (void)arg; /* the task is in the coroutine's room */
    cio_task_t *t = cio__coro_room(cio_coro_current());
    struct cio__task *tk = cio__task(t);
    void *result = tk->fn(tk->arg);
    /* Found again, not kept across fn: this frame is under every wait. */
    struct cio__hub *hub = cio__tls_hub;
    t = hub->io.run.current;
    tk = cio__task(t);
    tk->result = result;
    tk->status = t->killed ? -ECANCELED : 0;
    free(tk->timer); /* no wait is left to time */
    tk->timer = NULL;
    t->state = CIO__DONE;
    hub->live--;
    cio__list_remove(&hub->all, &tk->all_link);
    cio__waitq_wake_all(&tk->joiners, 0);
    /* Returning switches to the hub, which frees a detached task. */
    return NULL;
}

/* cio_task_spawn on hub, on a shared stack if copied. */
static int spawn(struct cio__hub *hub, bool copied, cio_task_t **out,
                 cio_task_cb fn, void *arg)
{
    if (out)
        *out = NULL;
    if (!hub || !fn)
        return hub ? -EINVAL : -EPERM;
    int rc = cio__ring_reserve(&hub->io.run.runq, hub->live + 1);
    if (rc < 0)
        return rc;
    /* The task lives in its coroutine's room, cache-line aligned: the hot
     * first fields share one line, next to the saved stack pointer. */
    cio_coro_t *co;
    rc = copied ? cio__coro_create_copied(&co, task_main, NULL, hub->stack_size,
                                          sizeof(struct cio__task))
                : cio__coro_create_room(&co, task_main, NULL, hub->stack_size,
                                        sizeof(struct cio__task));
    if (rc < 0)
        return rc;
    struct cio__task *tk = cio__coro_room(co);
    memset(tk, 0, sizeof *tk);
    cio_task_t *t = &tk->io.task;
    t->coro = co;
    t->hub = hub;
    tk->fn = fn;
    tk->arg = arg;
    t->detached = out == NULL;
    t->copied = copied;
    tk->shield_grace = -1;
    fast_update(t);
    cio__list_push_front(&hub->all, &tk->all_link);
    hub->live++;
    cio__runq_push(hub, t);
    if (out)
        *out = t;
    return 0;
}

int cio_task_spawn(cio_task_t **out, cio_task_cb fn, void *arg)
{
    struct cio__hub *hub = cio__hub_get();
    return spawn(hub, hub && hub->copied_stacks, out, fn, arg);
}

int cio__task_spawn_conn(cio_task_t **out, cio_task_cb fn, void *arg)
{
    struct cio__hub *hub = cio__hub_get();
    bool conn = hub && hub->conn_copied;
    return spawn(hub, hub && (hub->copied_stacks || conn), out, fn, arg);
}

/* Called by the hub to run the next task of the run queue (hub.c); returns
 * when a task switches back, maybe after others it handed over to. */
void cio__task_run_next(struct cio__hub *hub);
void cio__task_run_next(struct cio__hub *hub)
{
    cio_task_t *t = take_next(hub);
    /* Whatever the hub's setting now: tasks made before may share stacks
     * (and a server's connection tasks do, cio_hub_set_conn_copied_stacks) */
    if (hub->pins && cio__coro_blocked(t->coro)) {
        if (hub->round_left)
            hub->round_left--;
        cio__task(t)->parked_next = hub->parked;
        hub->parked = cio__task(t);
        return;
    }
    enter(hub, t);
    if (t->started) {
        cio__coro_resume(t->coro);
    } else {
        t->started = true;
        cio_coro_switch(t->coro, NULL, NULL);
    }
    t = hub->io.run.current; /* the one that came back */
    hub->io.run.current = NULL;
    if (t->state == CIO__DONE && t->detached)
        cio_coro_free(t->coro); /* and t, in its room */
}

void cio__task_pin_stack(cio_task_t *t, bool on)
{
    struct cio__hub *hub = t->hub;
    cio__coro_pin(t->coro, on);
    if (t->copied && on)
        hub->pins++;
    else if (t->copied)
        hub->pins--;
    if (!on) {
        while (hub->parked) {
            struct cio__task *p = hub->parked;
            hub->parked = p->parked_next;
            cio__runq_push(hub, &p->io.task);
        }
    }
}

/* Unlinks a task that will never finish from what it waits on, which may
 * outlive the run (hub teardown after a deadlock). Every task is unlinked
 * before any is freed: joiners' nodes live in the tasks they join. Only
 * cio_fd_poll links other nodes, into fd queues, which end with the hub. */
void cio__task_unlink(cio_task_t *t);
void cio__task_unlink(cio_task_t *t)
{
    cio__waitq_remove(&t->wnode[0]);
    cio__waitq_remove(&t->wnode[1]);
}

/* Frees a task that never finished. */
void cio__task_destroy(cio_task_t *t);
void cio__task_destroy(cio_task_t *t)
{
    disarm_timer(t);
    free(cio__task(t)->timer);
    cio_coro_free(t->coro);
}

cio_task_t *cio_task_self(void)
{
    return cio__self();
}

/* ---- sleep, join, kill ---- */

int cio_task_sleep_until(int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (deadline_ms < 0)
        deadline_ms = -1;
    if (deadline_ms >= 0 && deadline_ms <= cio_loop_now(t->hub->io.run.loop)) {
        /* Already due: still let the others run once. */
        cio__runq_push(t->hub, t);
        leave(t->hub);
        return 0;
    }
    rc = cio__block(t, deadline_ms, "sleep", 0);
    return rc == -ETIMEDOUT ? 0 : rc;
}

int cio_task_sleep(int64_t ms)
{
    struct cio__hub *hub = cio__hub_get();
    if (!hub)
        return -EPERM;
    if (ms < 0)
        return cio_task_sleep_until(-1);
    return cio_task_sleep_until(cio_loop_now(hub->io.run.loop) + ms);
}

int cio_task_join(cio_task_t *task, int64_t deadline_ms)
{
    cio_task_t *t;
    if (!task)
        return -EINVAL;
    if (task->state == CIO__DONE)
        return 0;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (task == t)
        return -EDEADLK;
    if (task->hub != t->hub)
        return -EINVAL;
    rc = cio__wait_in(&cio__task(task)->joiners, t, NULL, NULL, deadline_ms,
                      "join", (long)cio_coro_id(task->coro));
    return rc;
}

int cio_task_join_all(cio_task_t *const *tasks, size_t n, int64_t deadline_ms)
{
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            continue;
        int rc = cio_task_join(tasks[i], deadline_ms);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A kill during a shielded wait: the wait ends by the grace at the latest. */
static void shield_cut(cio_task_t *t)
{
    if (t->state != CIO__WAITING)
        return;
    int64_t limit = cio__task(t)->killed_at + cio__task(t)->shield_grace;
    if (t->timer_armed && cio__task(t)->timer->deadline_ms <= limit)
        return;
    if (arm_timer(t, limit) < 0)
        cio__wake(t, -ECANCELED); /* no memory: no grace either */
}

int64_t cio_task_shield(int64_t grace_ms)
{
    cio_task_t *t = cio__self();
    if (!t)
        return -1;
    int64_t old = cio__task(t)->shield_grace;
    if (grace_ms > INT32_MAX)
        grace_ms = INT32_MAX;
    cio__task(t)->shield_grace = grace_ms >= 0 ? (int32_t)grace_ms : -1;
    return old;
}

int cio_task_kill(cio_task_t *task)
{
    if (!task)
        return -EINVAL;
    if (task->state == CIO__DONE)
        return -ESRCH;
    if (!task->killed)
        cio__task(task)->killed_at = cio_loop_now(task->hub->io.run.loop);
    task->killed = true;
    fast_update(task);
    if (cio__task(task)->shield_grace >= 0)
        shield_cut(task);
    else
        cio__wake(task, -ECANCELED);
    return 0;
}

int cio_task_interrupt(cio_task_t *task)
{
    if (!task)
        return -EINVAL;
    if (task->state == CIO__DONE)
        return -ESRCH;
    if (!cio__wake(task, -EINTR)) {
        task->interrupt = true;
        fast_update(task);
    }
    return 0;
}

bool cio_task_cancelled(void)
{
    cio_task_t *t = cio__self();
    return t && t->killed;
}

bool cio_task_done(const cio_task_t *task)
{
    return task && task->state == CIO__DONE;
}

void *cio_task_result(const cio_task_t *task)
{
    return task && task->state == CIO__DONE ? cio__task(task)->result : NULL;
}

int cio_task_status(const cio_task_t *task)
{
    return task ? cio__task(task)->status : -EINVAL;
}

void cio_task_set_name(cio_task_t *task, const char *name)
{
    if (task)
        cio_coro_set_name(task->coro, name);
}

void cio_task_detach(cio_task_t *task)
{
    if (!task)
        return;
    if (task->state == CIO__DONE) {
        cio_coro_free(task->coro);
    } else {
        task->detached = true;
    }
}

void cio_task_free(cio_task_t *task)
{
    if (task && task->state != CIO__DONE)
        cio_task_kill(task); /* its handle is gone: nothing waits for it */
    cio_task_detach(task);
}

void cio_task_set_data(cio_task_t *task, void *data)
{
    if (task)
        cio__task(task)->data = data;
}

void *cio_task_data(const cio_task_t *task)
{
    return task ? cio__task(task)->data : NULL;
}

/* Shrinks the stacks of tasks that have waited long enough (hub.c timer). */
void cio__shrink_idle(struct cio__hub *hub);
void cio__shrink_idle(struct cio__hub *hub)
{
    int64_t limit = cio_loop_now(hub->io.run.loop) - hub->shrink_after_ms;
    cio_task_t *t;
    while (!cio__list_empty(&hub->idle) &&
           (t = idle_first(hub))->wait_since <= limit) {
        idle_unlink(hub, t);
        if (!t->shrunk) {
            t->shrunk = true;
            (void)cio_coro_shrink(t->coro); /* on error keep the stack */
        }
    }
}

/* Drops every task from the shrink list (shrink turned off). */
void cio__shrink_clear(struct cio__hub *hub);
void cio__shrink_clear(struct cio__hub *hub)
{
    while (!cio__list_empty(&hub->idle))
        idle_unlink(hub, idle_first(hub));
}
