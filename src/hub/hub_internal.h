/* Private to src/hub: the whole task and hub. Other layers see only their
 * first parts: the wait primitive's (wait.h, for src/sync) and src/io's
 * (hub_io.h). */
#ifndef CORIO_HUB_INTERNAL_H
#define CORIO_HUB_INTERNAL_H

#include "hub/hub_io.h"
#include "loop/timer.h"

/* A task: the parts other layers use first, then the scheduler's own,
 * packed: a server holds one task per connection. Fields never needed at
 * once share their place. */
struct cio__task {
    struct cio__task_io io; /* struct cio_task, with the uring operation */
    union {
        struct {
            cio_task_cb fn; /* the task's function, until it starts */
            void *arg;      /* its argument */
        };
        void *result; /* fn's return value once done */
    };
    void *data;                /* the program's pointer (cio_task_set_data) */
    struct cio__link all_link; /* in the hub's list of live tasks */
    union {
        struct cio__link idle_link;    /* in the hub's shrink list, while
                                          it waits */
        struct cio__task *parked_next; /* next in the hub's parked list,
                                          while it is ready */
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

/* The whole of task t. */
static inline struct cio__task *cio__task(const cio_task_t *t)
{
    return (struct cio__task *)(void *)(cio_task_t *)t;
}

/* The task whose node `member` (all_link, idle_link) is at link. */
#define cio__task_of(link, member)                                             \
    cio__container_of(link, struct cio__task, member)

struct cio__hub {
    struct cio__hub_io io; /* the run queue, then src/io's part */
    cio_coro_t *coro;      /* coroutine that runs the loop */
    size_t round_left;     /* queued tasks of the round being run */
    size_t warm; /* queued tasks, oldest first, with stacks prefetched */
    struct cio__list all;    /* live tasks, newest first (cio_hub_dump) */
    size_t live;             /* tasks whose function has not returned */
    size_t stack_size;       /* stack size for new tasks */
    size_t timers;           /* deadline timers armed by tasks */
    size_t refs;             /* external wake sources (cio_hub_ref) */
    bool loop_ref;           /* holds a loop reference (inflight, refs) */
    int64_t shrink_after_ms; /* 0 = never shrink waiting stacks */
    bool copied_stacks;      /* tasks made from now on share stacks */
    bool conn_copied;        /* so do the stream servers' connection tasks */
    size_t pins; /* tasks that keep their shared stack (cio__coro_pin) */
    /* Ready tasks that cannot run while an offloading task keeps their
     * shared stack (cio__coro_pin): queued again when it lets go. */
    struct cio__task *parked;
    struct cio__list idle;    /* waiting tasks, oldest wait first */
    cio_timer_t shrink_timer; /* periodic scan of the shrink list */
    bool sigquit;             /* SIGQUIT prints cio_hub_dump */
};

/* Takes the oldest task off its hub's run queue (which is not empty). */
static inline cio_task_t *cio__runq_pop(struct cio__hub *hub)
{
    return cio__ring_pop(&hub->io.run.runq);
}

#endif
