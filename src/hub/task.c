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
    w->tnext = t->nodes;
    t->nodes = w;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail)
        q->tail->next = w;
    else
        q->head = w;
    q->tail = w;
}

void cio__waitq_remove(struct cio__waiter *w)
{
    struct cio__waitq *q = w->q;
    if (!q)
        return;
    for (struct cio__waiter **p = &w->task->nodes; *p; p = &(*p)->tnext) {
        if (*p == w) {
            *p = w->tnext;
            break;
        }
    }
    if (w->prev)
        w->prev->next = w->next;
    else
        q->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        q->tail = w->prev;
    w->q = NULL;
    w->prev = w->next = NULL;
}

struct cio__waiter *cio__waitq_pop(struct cio__waitq *q)
{
    struct cio__waiter *w = q->head;
    if (w)
        cio__waitq_remove(w);
    return w;
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

void cio__waitq_wake_all(struct cio__waitq *q, int rc)
{
    struct cio__waiter *w;
    while ((w = cio__waitq_pop(q)) != NULL)
        cio__wake(w->task, rc);
}

/* ---- the run queue and the wait primitive ---- */

/* Stack lines prefetched: a waiting task's frames above its saved sp. */
#define STACK_LINES 4

/* Warms the caches for the tasks about to run. With thousands of
 * connections the tasks one poll woke have gone cold by their turn, and
 * each resume is a chain of dependent loads: task, coroutine, the stack
 * pointer saved in it (the coroutine's first word, src/coro/switch.h), the
 * stack. So the chain is walked in steps one task apart, each step loading
 * only what the steps before fetched: the third task's struct, the second
 * one's coroutine, the next one's stack top. Only hints: a prefetch never
 * faults. */
void cio__task_prefetch(const cio_task_t *n1)
{
    const cio_task_t *n2 = n1->run_next;
    if (n2) {
        const cio_task_t *n3 = n2->run_next;
        if (n3) {
            __builtin_prefetch(n3);
            __builtin_prefetch((const char *)n3 + 64);
        }
        __builtin_prefetch(n2->coro);
    }
#ifndef CIO_USE_UCONTEXT
    const char *sp = *(char *const *)(const void *)n1->coro;
    for (int i = 0; i < STACK_LINES; i++)
        __builtin_prefetch(sp + 64 * i);
#endif
}

static void runq_push(struct cio__hub *hub, cio_task_t *t)
{
    t->state = CIO__READY;
    t->run_next = NULL;
    if (hub->runq_tail)
        hub->runq_tail->run_next = t;
    else
        hub->runq_head = t;
    hub->runq_tail = t;
}

static void idle_unlink(struct cio__hub *hub, cio_task_t *t)
{
    if (!t->idle_listed)
        return;
    if (t->idle_prev)
        t->idle_prev->idle_next = t->idle_next;
    else
        hub->idle_head = t->idle_next;
    if (t->idle_next)
        t->idle_next->idle_prev = t->idle_prev;
    else
        hub->idle_tail = t->idle_prev;
    t->idle_prev = t->idle_next = NULL;
    t->idle_listed = false;
}

static void idle_append(struct cio__hub *hub, cio_task_t *t)
{
    t->idle_next = NULL;
    t->idle_prev = hub->idle_tail;
    if (hub->idle_tail)
        hub->idle_tail->idle_next = t;
    else
        hub->idle_head = t;
    hub->idle_tail = t;
    t->idle_listed = true;
}

static void disarm_timer(cio_task_t *t)
{
    if (t->timer_armed) {
        cio_timer_stop(&t->timer);
        t->timer_armed = false;
        t->hub->timers--;
    }
}

bool cio__wake(cio_task_t *t, int rc)
{
    if (t->state != CIO__WAITING)
        return false;
    t->wake_rc = rc;
    disarm_timer(t);
    idle_unlink(t->hub, t);
    runq_push(t->hub, t);
    __builtin_prefetch(t->coro); /* first step of cio__task_prefetch */
    return true;
}

static void deadline_cb(cio_timer_t *timer)
{
    cio_task_t *t = timer->data;
    t->timer_armed = false;
    t->hub->timers--;
    cio__wake(t, -ETIMEDOUT);
}

bool cio__expired(struct cio__hub *hub, int64_t deadline_ms)
{
    return deadline_ms >= 0 && deadline_ms <= cio_loop_now(hub->loop);
}

int cio__enter(cio_task_t **out)
{
    cio_task_t *t = cio__self();
    *out = t;
    if (!t)
        return -EPERM;
    if (t->killed)
        return -ECANCELED;
    if (t->interrupt) {
        t->interrupt = false;
        return -EINTR;
    }
    return 0;
}

int cio__block(cio_task_t *t, int64_t deadline_ms, const char *what, long arg)
{
    struct cio__hub *hub = t->hub;
    if (t->killed)
        return -ECANCELED;
    if (t->interrupt) {
        t->interrupt = false;
        return -EINTR;
    }
    if (cio__expired(hub, deadline_ms))
        return -ETIMEDOUT;
    if (deadline_ms >= 0) {
        if (cio_timer_start_at(hub->loop, &t->timer, deadline_ms) < 0)
            return -ENOMEM;
        t->timer_armed = true;
        hub->timers++;
    }
    t->state = CIO__WAITING;
    t->wait_what = what;
    t->wait_arg = arg;
    t->wait_since = cio_loop_now(hub->loop);
    t->shrunk = false;
    if (hub->shrink_after_ms > 0 && !t->keep_stack)
        idle_append(hub, t);
    cio_coro_switch(hub->coro, NULL, NULL);
    /* Woken: cio__wake already disarmed the timer and the shrink entry. */
    t->wait_what = NULL;
    return t->wake_rc;
}

/* ---- spawn and the task's life ---- */

static void *task_main(void *arg)
{
    (void)arg; /* the task is in the coroutine's room */
    cio_task_t *t = cio__coro_room(cio_coro_current());
    struct cio__hub *hub = t->hub;
    t->result = t->fn(t->arg);
    t->status = t->killed ? -ECANCELED : 0;
    t->state = CIO__DONE;
    hub->live--;
    if (t->all_prev)
        t->all_prev->all_next = t->all_next;
    else
        hub->all = t->all_next;
    if (t->all_next)
        t->all_next->all_prev = t->all_prev;
    t->all_prev = t->all_next = NULL;
    cio__waitq_wake_all(&t->joiners, 0);
    /* Returning switches to the hub, which frees a detached task. */
    return NULL;
}

int cio_spawn(cio_task_t **out, cio_task_fn fn, void *arg)
{
    struct cio__hub *hub = cio__hub_get();
    if (out)
        *out = NULL;
    if (!hub || !fn)
        return hub ? -EINVAL : -EPERM;
    /* The task lives in its coroutine's room, cache-line aligned: the hot
     * first fields share one line, next to the saved stack pointer. */
    cio_coro_t *co;
    int rc = cio__coro_create_room(&co, task_main, NULL, hub->stack_size,
                                   sizeof(cio_task_t));
    if (rc < 0)
        return rc;
    cio_task_t *t = cio__coro_room(co);
    memset(t, 0, sizeof *t);
    t->coro = co;
    cio_coro_set_data(co, t);
    t->hub = hub;
    t->fn = fn;
    t->arg = arg;
    t->detached = out == NULL;
    cio_timer_init(&t->timer, deadline_cb, t);
    t->all_next = hub->all;
    if (hub->all)
        hub->all->all_prev = t;
    hub->all = t;
    hub->live++;
    runq_push(hub, t);
    if (out)
        *out = t;
    return 0;
}

/* Called by the hub after switching to t (hub.c). */
void cio__task_switch(struct cio__hub *hub, cio_task_t *t);
void cio__task_switch(struct cio__hub *hub, cio_task_t *t)
{
    hub->current = t;
    t->state = CIO__RUNNING;
    if (hub->runq_head) /* it runs while this one makes its system calls */
        cio__task_prefetch(hub->runq_head);
    cio_coro_switch(t->coro, NULL, NULL);
    hub->current = NULL;
    if (t->state == CIO__DONE && t->detached)
        cio_coro_free(t->coro); /* and t, in its room */
}

/* Unlinks a task that will never finish from what it waits on, which may
 * outlive the run (hub teardown after a deadlock). Every task is unlinked
 * before any is freed: joiners' nodes live in the tasks they join. */
void cio__task_unlink(cio_task_t *t);
void cio__task_unlink(cio_task_t *t)
{
    while (t->nodes)
        cio__waitq_remove(t->nodes);
}

/* Frees a task that never finished. */
void cio__task_destroy(cio_task_t *t);
void cio__task_destroy(cio_task_t *t)
{
    disarm_timer(t);
    cio_coro_free(t->coro);
}

cio_task_t *cio_self(void)
{
    return cio__self();
}

/* ---- sleep, join, kill ---- */

int cio_sleep_until(int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (deadline_ms < 0)
        deadline_ms = -1;
    if (deadline_ms >= 0 && deadline_ms <= cio_loop_now(t->hub->loop)) {
        /* Already due: still let the others run once. */
        runq_push(t->hub, t);
        cio_coro_switch(t->hub->coro, NULL, NULL);
        return 0;
    }
    rc = cio__block(t, deadline_ms, "sleep", 0);
    return rc == -ETIMEDOUT ? 0 : rc;
}

int cio_sleep(int64_t ms)
{
    struct cio__hub *hub = cio__hub_get();
    if (!hub)
        return -EPERM;
    if (ms < 0)
        return cio_sleep_until(-1);
    return cio_sleep_until(cio_loop_now(hub->loop) + ms);
}

int cio_join(cio_task_t *task, int64_t deadline_ms)
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
    struct cio__waiter *w = &t->wnode[0];
    cio__waitq_push(&task->joiners, w, t);
    rc = cio__block(t, deadline_ms, "join", (long)cio_coro_id(task->coro));
    cio__waitq_remove(w);
    return rc;
}

int cio_joinall(cio_task_t *const *tasks, size_t n, int64_t deadline_ms)
{
    for (size_t i = 0; i < n; i++) {
        if (!tasks[i])
            continue;
        int rc = cio_join(tasks[i], deadline_ms);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int cio_kill(cio_task_t *task)
{
    if (!task)
        return -EINVAL;
    if (task->state == CIO__DONE)
        return -ESRCH;
    task->killed = true;
    cio__wake(task, -ECANCELED);
    return 0;
}

int cio_interrupt(cio_task_t *task)
{
    if (!task)
        return -EINVAL;
    if (task->state == CIO__DONE)
        return -ESRCH;
    if (!cio__wake(task, -EINTR))
        task->interrupt = true;
    return 0;
}

bool cio_cancelled(void)
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
    return task && task->state == CIO__DONE ? task->result : NULL;
}

int cio_task_status(const cio_task_t *task)
{
    return task ? task->status : -EINVAL;
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
    /* A task still running is detached instead: freed when it ends. */
    cio_task_detach(task);
}

/* Shrinks the stacks of tasks that have waited long enough (hub.c timer). */
void cio__shrink_idle(struct cio__hub *hub);
void cio__shrink_idle(struct cio__hub *hub)
{
    int64_t limit = cio_loop_now(hub->loop) - hub->shrink_after_ms;
    cio_task_t *t;
    while ((t = hub->idle_head) != NULL && t->wait_since <= limit) {
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
    while (hub->idle_head)
        idle_unlink(hub, hub->idle_head);
}
