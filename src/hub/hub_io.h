/* Private: what src/io sees of the hub beyond the wait primitive (wait.h):
 * the hub's fd table and ring, a task's completion-mode operation, offload
 * bookkeeping, and the hooks the hub calls into src/io. The rest of the hub
 * and of the task is private to src/hub (hub_internal.h). */
#ifndef CORIO_HUB_HUB_IO_H
#define CORIO_HUB_HUB_IO_H

#include "hub/wait.h"
#include "loop/timer.h"
#include "loop/uring.h"

struct cio__fd;
struct cio__fd_event;

/* A task's operation on the io_uring backend (io/uring.c). In the task, not on
 * its stack: the completion writes here while the stack may be shrunk. */
struct cio__uop {
    struct cio__uring_op base; /* what the loop calls on completion */
    cio_task_t *task;          /* the waiting task: right after base */
    int res;                   /* the completion's result */
    unsigned flags;            /* and flags (the provided buffer's id) */
    bool done;                 /* the completion arrived */
};

/* The part of a task src/io uses; it begins every task (struct cio__task,
 * hub_internal.h). */
struct cio__task_io {
    struct cio_task task; /* the wait primitive's part, with the operation */
};

/* Task t's operation in completion mode, in the room its second wait node
 * leaves (wait.h). */
static inline struct cio__uop *cio__task_uop(cio_task_t *t)
{
    return (struct cio__uop *)(void *)t->uop_room_;
}
_Static_assert(sizeof(struct cio__uop) <= sizeof(((cio_task_t *)0)->uop_room_),
               "a task's operation fits its room");

/* The part of a hub src/io uses; it begins every hub (struct cio__hub). */
struct cio__hub_io {
    struct cio__run run;       /* the wait primitive's part: first */
    struct cio__uring *uring;  /* its io_uring in completion mode, or NULL */
    size_t fd_waiters;         /* waiter nodes linked on fds */
    struct cio__fd **fd_pages; /* per-fd state, in pages that never move */
    size_t fd_npages;          /* entries in fd_pages */
    struct cio__fd_event *fd_events; /* reports of the loop's iteration */
    size_t fd_nevents;               /* reports in fd_events */
    size_t fd_events_cap;            /* entries allocated */
    cio_timer_t fd_probe;            /* checks fds of long waits (fdprobe.c) */
    int64_t fd_probe_last;           /* when it last ran */
    /* Offload jobs and ring operations not completed yet: they end in
     * posts or completions, which do not keep a loop alive by themselves
     * (cio__hub_inflight). */
    size_t inflight;
    /* Streaming reads on the io_uring backend (io/uring_stream.c). */
    struct cio__ustreams *streams;
    /* Enough tasks that theirs and their fds' memory is cold when they run
     * again: readiness reports are then acted on together, with the next
     * ones prefetched (fdevent.c), and so are the tasks' stacks (task.c).
     * With fewer, everything stays in the caches and prefetches only cost
     * instructions. Set by the hub before each look at the loop. */
    bool cold;
};

/* The io part of hub. */
static inline struct cio__hub_io *cio__io(struct cio__hub *hub)
{
    return (struct cio__hub_io *)(void *)hub;
}

/* Suspends the running task until cio__wake, with no deadline; kill and
 * interrupt wake it too but do not end the wait for its caller, who waits
 * again while the kernel still owns its memory (io/uring.c). */
int cio__block_raw(cio_task_t *t, const char *what, long arg);
/* Keeps t's frames where they are while another thread may use them
 * (offload), or lets them go and queues the tasks that waited for that. */
void cio__task_pin_stack(cio_task_t *t, bool on);

/* Takes or drops the hub's loop reference as inflight leaves or reaches 0. */
void cio__hub_keepalive(struct cio__hub *hub);

/* Changes the count of offload jobs and ring operations in flight, which
 * keep the loop waiting: the loop is told only when it leaves or reaches 0. */
static inline void cio__hub_inflight(struct cio__hub *hub, int delta)
{
    size_t before = cio__io(hub)->inflight;
    cio__io(hub)->inflight = before + (size_t)(ptrdiff_t)delta;
    if (before == 0 || cio__io(hub)->inflight == 0)
        cio__hub_keepalive(hub);
}

/* Drops the hub's fd state (io/fdtable.c): at the end of cio_hub_run. */
void cio__fd_table_free(struct cio__hub *hub);
/* Sets up the hub's fd state (io/fdtable.c): at the start of cio_hub_run. */
void cio__fd_table_init(struct cio__hub *hub);
/* Acts on the loop's readiness reports (io/fdevent.c): after each iteration. */
void cio__fd_flush(struct cio__hub *hub);
/* Unregisters fds nobody waits on (io/fdtable.c): before a deadlock check. */
void cio__fd_drop_idle(struct cio__hub *hub);

#endif
