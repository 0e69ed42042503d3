/* Private: the one wait primitive every blocking call is built on, all that
 * src/sync sees of the hub.
 *
 * A blocking call links waiter nodes (kept in the task, never on its stack,
 * which may be shrunk while it waits) into the queues of what it waits for
 * (an fd's readers, a queue's getters, a task's joiners...), then calls
 * cio__block, which arms the deadline and switches to the hub. The first
 * trigger to call cio__wake on the task wins: it sets the result code and
 * makes the task ready; later triggers find it no longer waiting and do
 * nothing. When the task runs again it unlinks whatever nodes are left.
 *
 * The entry check and the wake run on every blocking call and every wake,
 * so they are inline, and this header defines what they read: the first
 * part of a task (struct cio_task) and of a hub (struct cio__run). The rest
 * of both is private to src/hub (hub_internal.h). */
#ifndef CORIO_HUB_WAIT_H
#define CORIO_HUB_WAIT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corio/coro.h"
#include "corio/hub.h"
#include "corio/loop.h"
#include "common/list.h"
#include "common/ring.h"
#include "coro/room.h"

struct cio__hub;
struct cio__waitq;

/* One registration of a waiting task in one wait queue. */
struct cio__waiter {
    /* The queue it is linked in, NULL once unlinked. First: a task's
     * completion-mode operation shares its second node's other fields. */
    struct cio__waitq *q;
    struct cio__link link; /* in q */
    cio_task_t *task;      /* the task that waits */
    void *value;           /* item handed over (queues) */
};

/* A FIFO of waiter nodes; zeroed, it is empty. */
struct cio__waitq {
    struct cio__list waiters; /* oldest first */
};

static inline bool cio__waitq_empty(const struct cio__waitq *q)
{
    return cio__list_empty(&q->waiters);
}

enum cio__task_state {
    CIO__READY,   /* in the run queue */
    CIO__RUNNING, /* the current task */
    CIO__WAITING, /* suspended in cio__block */
    CIO__DONE     /* its function returned */
};

/* The part of a task a switch and a wait touch, in one cache line: with
 * thousands of connections a task's memory is cold when it runs. It begins
 * every task (struct cio__task, hub_internal.h). */
struct cio_task {
    cio_coro_t *coro;     /* runs fn(arg) */
    struct cio__hub *hub; /* hub that schedules it */
    int wake_rc;          /* result code of the trigger that woke it */
    uint8_t state;        /* enum cio__task_state */
    union {
        struct {
            bool killed;    /* cio_task_kill was called */
            bool interrupt; /* an -EINTR is pending for the next wait */
        };
        uint16_t alert; /* either: one test on every blocking call */
    };
    union {
        struct {
            bool timer_armed; /* the deadline timer is running */
            bool idle_listed; /* linked in the hub's shrink list */
        };
        uint16_t listed; /* either: one test on every wake */
    };
    bool detached;         /* freed by the hub when it ends */
    bool shrunk;           /* shrink attempted during this wait */
    bool keep_stack;       /* another thread may use its stack now */
    bool started;          /* the hub switched to it once */
    bool copied;           /* on a shared stack: its frames move while it
                              waits, so the kernel must not keep pointers
                              into them (io/uring.c) */
    const char *wait_what; /* what it waits on, for cio_hub_dump */
    long wait_arg;         /* an fd or a count shown with wait_what */
    int64_t wait_since;    /* when the current wait began */
    void *wait_obj;        /* what it waits on (an fd's state) or NULL:
                              prefetched before it runs again */
    /* Nodes for the current wait. Not on the task's stack: a shrunk stack
     * (cio_coro_shrink) reads as zeros until the task runs again. */
    union {
        struct cio__waiter wnode[2];
        /* A wait is one or the other: an operation in completion mode
         * (io/uring.c, which waits for its end before the call returns)
         * never needs the second node, which only a wait on both
         * directions of an fd uses. The node's q stays NULL under it, so
         * that unlinking the node finds it unlinked. */
        struct {
            struct cio__waiter wnode_first_;
            void *wnode_second_q_;
            void *uop_room_[4]; /* struct cio__uop (hub_io.h) */
        };
    };
};
_Static_assert(offsetof(struct cio_task, wnode) <= 64,
               "a task's hot fields fit one cache line");
_Static_assert(offsetof(struct cio_task, wnode_second_q_) ==
                   offsetof(struct cio_task, wnode[1].q),
               "the operation leaves the second node's q alone");

/* The part of a hub the entry check, the deadline check and the wake read.
 * It begins every hub (struct cio__hub_io, hub_io.h, which begins struct
 * cio__hub): cio__run converts a hub pointer to it. */
struct cio__run {
    cio_loop_t *loop;    /* the loop the hub runs */
    const int64_t *now;  /* its cio_loop_now (cio__loop_clock) */
    cio_task_t *current; /* running task, NULL while in the hub */
    /* Ready tasks (cio_task_t *), FIFO, in a ring that always has room for
     * every live task: waking one never allocates. */
    struct cio__ring runq;
};

/* The run part of hub, which begins it. */
static inline struct cio__run *cio__run(struct cio__hub *hub)
{
    return (struct cio__run *)(void *)hub;
}

/* This thread's hub, NULL outside cio_hub_run (hub.c). initial-exec: read on
 * every blocking call, as the coroutine core reads its own. */
extern _Thread_local
    __attribute__((tls_model("initial-exec"),
                   visibility("hidden"))) struct cio__hub *cio__tls_hub;

/* This thread's hub, NULL outside cio_hub_run. */
static inline struct cio__hub *cio__hub_get(void)
{
    return cio__tls_hub;
}

/* The running task of this thread's hub, or NULL (hub context, no hub). */
static inline cio_task_t *cio__self(void)
{
    struct cio__hub *hub = cio__tls_hub;
    cio_task_t *t = hub ? cio__run(hub)->current : NULL;
    /* A coroutine a task created by hand is not the task. */
    return t && t->coro == cio__tls_current ? t : NULL;
}

/* cio__enter for a task that was killed or has an interrupt pending. */
int cio__enter_flagged(cio_task_t *t);

/* Entry check of every blocking call: 0 with *out set, or -EPERM (not in a
 * task), -ECANCELED (killed) or -EINTR (a pending interrupt, consumed). */
static inline int cio__enter(cio_task_t **out)
{
    cio_task_t *t = cio__self();
    *out = t;
    if (__builtin_expect(!t, 0))
        return -EPERM;
    if (__builtin_expect(t->alert != 0, 0))
        return cio__enter_flagged(t);
    return 0;
}

/* True if deadline_ms has passed (0 always has; -1 never does). */
static inline bool cio__expired(struct cio__hub *hub, int64_t deadline_ms)
{
    return deadline_ms >= 0 && deadline_ms <= *cio__run(hub)->now;
}

/* Suspends the running task until a trigger calls cio__wake, or the
 * deadline passes (-ETIMEDOUT), or it is killed (-ECANCELED) or
 * interrupted (-EINTR). what/arg describe the wait for cio_hub_dump. */
int cio__block(cio_task_t *t, int64_t deadline_ms, const char *what, long arg);

/* cio__block with no deadline, made as its caller's last act: the switch
 * away is a tail call, so that the caller's frame is the last one under
 * the waiting task's. Returns 0 once woken; the code it woke with is then
 * cio__woken_rc of the running task. */
int cio__suspend(cio_task_t *t, const char *what, long arg);

/* What a woken task's wait returns: the code it was woken with, or
 * -ECANCELED for a deadline that was the grace after a kill. */
int cio__woken_rc(cio_task_t *t);

/* Appends t to its hub's run queue. */
static inline void cio__runq_push(struct cio__hub *hub, cio_task_t *t)
{
    t->state = CIO__READY;
    cio__ring_push(&cio__run(hub)->runq, t);
}

/* The part of cio__wake for a task with a deadline or on the shrink list;
 * true. */
bool cio__wake_unlist(cio_task_t *t);

/* Wakes a waiting task with rc; false (and nothing done) if it is not
 * waiting or another trigger already woke it. */
static inline bool cio__wake(cio_task_t *t, int rc)
{
    if (t->state != CIO__WAITING)
        return false;
    t->wake_rc = rc;
    cio__runq_push(t->hub, t);
    __builtin_prefetch(t->coro); /* its saved stack pointer */
    /* Last, so that a caller with nothing else to do makes it a jump. */
    if (__builtin_expect(t->listed != 0, 0))
        return cio__wake_unlist(t);
    return true;
}

/* Wait queues. */
void cio__waitq_push(struct cio__waitq *q, struct cio__waiter *w,
                     cio_task_t *t);
void cio__waitq_remove(struct cio__waiter *w);
/* Unlinks and returns the oldest waiter, NULL if there is none. */
static inline struct cio__waiter *cio__waitq_pop(struct cio__waitq *q)
{
    struct cio__link *l = q->waiters.head;
    if (!l)
        return NULL;
    struct cio__waiter *w = cio__container_of(l, struct cio__waiter, link);
    cio__waitq_remove(w);
    return w;
}
/* cio_task_spawn for a stream server's connection task (sync/server.c):
 * on shared stacks when cio_hub_set_conn_copied_stacks asked for it. */
int cio__task_spawn_conn(cio_task_t **out, cio_task_cb fn, void *arg);

/* The argument t's function was started with (task.c). */
void *cio__task_arg(cio_task_t *t);

/* The task of the oldest waiter, NULL if there is none. */
static inline cio_task_t *cio__waitq_first(const struct cio__waitq *q)
{
    struct cio__link *l = q->waiters.head;
    return l ? cio__container_of(l, struct cio__waiter, link)->task : NULL;
}
/* Wakes the oldest waiter that can still be woken, handing it value;
 * false if none could be. */
bool cio__waitq_wake_one(struct cio__waitq *q, int rc, void *value);
/* Wakes every waiter with rc; returns how many there were. */
size_t cio__waitq_wake_all(struct cio__waitq *q, int rc);
/* The usual wait on one queue: links t's first node into q with value (an
 * item handed over, for queues), blocks (see cio__block), unlinks. *got (may
 * be NULL) receives the value a waker handed over. */
int cio__wait_in(struct cio__waitq *q, cio_task_t *t, void *value, void **got,
                 int64_t deadline_ms, const char *what, long arg);

#endif
