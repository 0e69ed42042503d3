/* Private to the hub: the task and hub structures and the one wait
 * primitive every blocking call is built on.
 *
 * A blocking call links waiter nodes (kept in the task, never on its stack,
 * which may be shrunk while it waits) into the queues of what it waits for
 * (an fd's readers, a queue's getters, a task's joiners...), then calls
 * cio__block, which arms the deadline and switches to the hub. The first
 * trigger to call cio__wake on the task wins: it sets the result code and
 * makes the task ready; later triggers find it no longer waiting and do
 * nothing. When the task runs again it unlinks whatever nodes are left. */
#ifndef CORIO_HUB_INTERNAL_H
#define CORIO_HUB_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corio/coro.h"
#include "corio/hub.h"
#include "corio/loop.h"
#include "coro/room.h"
#include "loop/timer.h"
#include "loop/uring.h"

struct cio__hub;
struct cio__waitq;

/* One registration of a waiting task in one wait queue. */
struct cio__waiter {
    cio_task_t *task;         /* the task that waits */
    struct cio__waitq *q;     /* queue it is linked in, NULL once unlinked */
    struct cio__waiter *prev; /* neighbours in q */
    struct cio__waiter *next;
    void *value; /* item handed over (queues) */
};

/* A FIFO of waiter nodes. */
struct cio__waitq {
    struct cio__waiter *head; /* oldest waiter */
    struct cio__waiter *tail; /* newest waiter */
};

/* A task's operation on the io_uring backend (io/uring.c). In the task, not on
 * its stack: the completion writes here while the stack may be shrunk. */
struct cio__uop {
    struct cio__uring_op base; /* what the loop calls on completion */
    cio_task_t *task;          /* the waiting task */
    int res;                   /* the completion's result */
    unsigned flags;            /* and flags (the provided buffer's id) */
    bool done;                 /* the completion arrived */
};

enum cio__task_state {
    CIO__READY,   /* in the run queue */
    CIO__RUNNING, /* the current task */
    CIO__WAITING, /* suspended in cio__block */
    CIO__DONE     /* its function returned */
};

/* The fields a switch and a wait touch come first, in one cache line:
 * with thousands of connections a task's memory is cold when it runs. */
struct cio_task {
    cio_coro_t *coro;      /* runs fn(arg) */
    struct cio__hub *hub;  /* hub that schedules it */
    int state;             /* enum cio__task_state */
    int wake_rc;           /* result code of the trigger that woke it */
    bool killed;           /* cio_task_kill was called */
    bool interrupt;        /* an -EINTR is pending for the next wait */
    bool timer_armed;      /* the deadline timer is running */
    bool idle_listed;      /* linked in the hub's shrink list */
    bool detached;         /* freed by the hub when it ends */
    bool shrunk;           /* shrink attempted during this wait */
    bool keep_stack;       /* another thread may use its stack now */
    bool started;          /* the hub switched to it once */
    const char *wait_what; /* what it waits on, for cio_hub_dump */
    long wait_arg;         /* an fd or a count shown with wait_what */
    int64_t wait_since;    /* when the current wait began */
    void *wait_obj;        /* what it waits on (an fd's state) or NULL:
                              prefetched before it runs again */
    /* Nodes for the current wait. Not on the task's stack: a shrunk stack
     * (cio_coro_shrink) reads as zeros until the task runs again. A wait
     * is one or the other: an operation in completion mode (io/uring.c,
     * which waits for its end before the call returns) never needs the
     * second node, which only a poll of both directions of an fd uses. */
    union {
        struct cio__waiter wnode[2];
        struct {
            struct cio__waiter wnode_first_; /* wnode[0] */
            /* wnode[1]'s task and q: q stays NULL, so that unlinking the
             * node (cio__task_unlink) finds it unlinked. */
            void *wnode_second_[2];
            struct cio__uop uop; /* its operation in completion mode */
        };
    };
    /* colder, and packed: a server holds one task per connection. Fields
     * never needed at once share their place. */
    union {
        struct {
            cio_task_cb fn; /* the task's function, until it starts */
            void *arg;      /* its argument */
        };
        void *result; /* fn's return value once done */
    };
    void *data;           /* the program's pointer (cio_task_set_data) */
    cio_task_t *all_prev; /* neighbours in the hub's live list */
    cio_task_t *all_next;
    union {
        struct {
            cio_task_t *idle_prev; /* neighbours in the shrink list, */
            cio_task_t *idle_next; /* while it waits */
        };
        cio_task_t *parked_next; /* next in the hub's parked list, while
                                    it is ready */
    };
    struct cio__waitq joiners; /* tasks in cio_task_join on this one */
    /* The deadline of its waits: allocated by its first wait that has
     * one (many tasks never have any), freed with the task. */
    cio_timer_t *timer;
    /* While shielded (cio_task_shield), a kill does not end the task's
     * waits at once: they go on until killed_at + shield_grace. */
    int64_t killed_at;    /* when cio_task_kill was first called */
    int32_t shield_grace; /* its grace after a kill, ms; < 0: no shield */
    int32_t status;       /* 0, or -ECANCELED if it ended killed */
};
_Static_assert(offsetof(struct cio_task, wnode) <= 64,
               "a task's hot fields fit one cache line");
_Static_assert(offsetof(struct cio__waiter, q) < 2 * sizeof(void *),
               "a task's operation leaves its second node's q alone");

struct cio__fd;

/* A readiness report of the loop, acted on when its iteration ends. */
struct cio__fd_event {
    struct cio__fd *f; /* the fd's state */
    int fd;            /* the fd */
    int events;        /* CIO_READABLE | CIO_WRITABLE | CIO_ERROR */
};

struct cio__hub {
    cio_loop_t *loop;         /* the loop the hub runs */
    struct cio__uring *uring; /* its io_uring in completion mode, or NULL */
    cio_coro_t *coro;         /* coroutine that runs the loop */
    cio_task_t *current;      /* running task, NULL while in the hub */
    /* Ready tasks, FIFO, in a ring that always has room for every live
     * task: waking one never allocates. */
    cio_task_t **runq;
    size_t runq_cap;   /* entries in runq, a power of two */
    size_t runq_head;  /* index of the oldest */
    size_t runq_len;   /* tasks queued */
    size_t round_left; /* queued tasks of the round being run */
    size_t warm;       /* queued tasks, oldest first, with stacks prefetched */
    cio_task_t *all;   /* live tasks (for cio_hub_dump) */
    size_t live;       /* tasks whose function has not returned */
    size_t stack_size; /* stack size for new tasks */
    size_t fd_waiters; /* waiter nodes linked on fds */
    size_t timers;     /* deadline timers armed by tasks */
    size_t inflight;   /* offload jobs not completed yet */
    size_t refs;       /* external wake sources (cio_hub_ref) */
    bool loop_ref;     /* holds a loop reference (inflight, refs) */
    struct cio__fd **fd_pages; /* per-fd state, in pages that never move */
    size_t fd_npages;          /* entries in fd_pages */
    struct cio__fd_event *fd_events; /* reports of the loop's iteration */
    size_t fd_nevents;               /* reports in fd_events */
    size_t fd_events_cap;            /* entries allocated */
    cio_timer_t fd_probe;            /* checks fds of long waits (fdwait.c) */
    int64_t fd_probe_last;           /* when it last ran */
    int64_t shrink_after_ms;         /* 0 = never shrink waiting stacks */
    bool copied_stacks;              /* tasks made from now on share stacks */
    bool conn_copied; /* so do the stream servers' connection tasks */
    bool any_copied;  /* it made a task that shares a stack */
    /* Ready tasks that cannot run while an offloading task keeps their
     * shared stack (cio__coro_pin): queued again when it lets go. */
    cio_task_t *parked;
    cio_task_t *idle_head; /* waiting tasks, oldest wait first */
    cio_task_t *idle_tail;
    cio_timer_t shrink_timer; /* periodic scan of the shrink list */
    bool sigquit;             /* SIGQUIT prints cio_hub_dump */
};

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
    cio_task_t *t = hub ? hub->current : NULL;
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
    if (__builtin_expect(t->killed | t->interrupt, 0))
        return cio__enter_flagged(t);
    return 0;
}

/* True if deadline_ms has passed (0 always has; -1 never does). */
static inline bool cio__expired(struct cio__hub *hub, int64_t deadline_ms)
{
    return deadline_ms >= 0 && deadline_ms <= cio_loop_now(hub->loop);
}

/* Suspends the running task until a trigger calls cio__wake, or the
 * deadline passes (-ETIMEDOUT), or it is killed (-ECANCELED) or
 * interrupted (-EINTR). what/arg describe the wait for cio_hub_dump. */
int cio__block(cio_task_t *t, int64_t deadline_ms, const char *what, long arg);

/* Suspends the running task until cio__wake, with no deadline; kill and
 * interrupt wake it too but do not end the wait for its caller, who waits
 * again while the kernel still owns its memory (io/uring.c). */
int cio__block_raw(cio_task_t *t, const char *what, long arg);
/* Keeps t's frames where they are while another thread may use them
 * (offload), or lets them go and queues the tasks that waited for that. */
void cio__task_pin_stack(cio_task_t *t, bool on);

/* Appends t to its hub's run queue. */
static inline void cio__runq_push(struct cio__hub *hub, cio_task_t *t)
{
    t->state = CIO__READY;
    size_t tail = (hub->runq_head + hub->runq_len++) & (hub->runq_cap - 1);
    hub->runq[tail] = t;
}

/* Takes the oldest task off its hub's run queue (which is not empty). */
static inline cio_task_t *cio__runq_pop(struct cio__hub *hub)
{
    cio_task_t *t = hub->runq[hub->runq_head];
    hub->runq_head = (hub->runq_head + 1) & (hub->runq_cap - 1);
    hub->runq_len--;
    return t;
}

/* The part of cio__wake for a task with a deadline or on the shrink list. */
void cio__wake_unlist(cio_task_t *t);

/* Wakes a waiting task with rc; false (and nothing done) if it is not
 * waiting or another trigger already woke it. */
static inline bool cio__wake(cio_task_t *t, int rc)
{
    if (t->state != CIO__WAITING)
        return false;
    t->wake_rc = rc;
    if (t->timer_armed | t->idle_listed)
        cio__wake_unlist(t);
    cio__runq_push(t->hub, t);
    __builtin_prefetch(t->coro); /* its saved stack pointer */
    return true;
}

/* Changes the count of offload jobs in flight (keeps the loop waiting). */
void cio__hub_inflight(struct cio__hub *hub, int delta);

/* Wait queues. */
void cio__waitq_push(struct cio__waitq *q, struct cio__waiter *w,
                     cio_task_t *t);
void cio__waitq_remove(struct cio__waiter *w);
/* Unlinks and returns the oldest waiter, NULL if there is none. */
static inline struct cio__waiter *cio__waitq_pop(struct cio__waitq *q)
{
    struct cio__waiter *w = q->head;
    if (w)
        cio__waitq_remove(w);
    return w;
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

/* Sets up the hub's fd state (io/fdwait.c): at the start of cio_hub_run. */
void cio__fd_table_init(struct cio__hub *hub);
/* Drops the hub's fd state (io/fdwait.c): at the end of cio_hub_run. */
void cio__fd_table_free(struct cio__hub *hub);
/* Acts on the loop's readiness reports (io/fdwait.c): after each iteration. */
void cio__fd_flush(struct cio__hub *hub);
/* Unregisters fds nobody waits on (io/fdwait.c): before a deadlock check. */
void cio__fd_drop_idle(struct cio__hub *hub);
/* Forgets stale state of an fd number just returned by the kernel. */
void cio__fd_fresh(int fd);

#endif
