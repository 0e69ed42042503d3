/* The loop's private state, shared by the files of src/loop. */
#ifndef CIO_LOOP_INT_H
#define CIO_LOOP_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "corio/loop.h"
#include "loop/backend.h"

/* One registration, indexed by fd. */
typedef struct cio__io_slot {
    cio_io_cb cb;     /* NULL when the slot is free */
    void *data;       /* the user's pointer */
    uint64_t since;   /* loop->iteration when registered: reports from
                         that iteration's poll predate it and are dropped */
    uint8_t events;   /* current interest (CIO_READABLE | CIO_WRITABLE) */
    uint8_t deliver;  /* what a report may deliver: events | CIO_ERROR, or
                         0 without interest (set with events, read by
                         dispatch to mask a report in one step) */
    uint8_t internal; /* the loop's own fd (posts, signals): keeps no life */
} cio__io_slot_t;

/* A post waiting to run on the loop's thread. */
typedef struct cio__post {
    struct cio__post *next; /* FIFO link */
    cio_post_cb fn;         /* what to run */
    void *data;             /* its argument */
} cio__post_t;

struct cio_loop {
    const cio__backend_ops_t *ops; /* the backend chosen at creation */
    void *backend;                 /* its private state */

    cio__io_slot_t *slots; /* registrations, indexed by fd */
    int slots_cap;         /* entries in slots */
    int active_fds;        /* user registrations with non-zero interest */
    cio__fired_t *fired;   /* reports of the current iteration */
    int fired_cap;         /* entries in fired */

    uint64_t iteration; /* polls so far; bumped right after each poll */
    int64_t now_ms;     /* cached monotonic time, updated once per iteration */
    int stop;           /* set by cio_loop_stop */
    int running;        /* inside cio_loop_run (it is not reentrant) */
    int refs;           /* cio_loop_ref count: keeps the loop alive */
    void *user_data;    /* cio_loop_set_data */

    cio_timer_t **heap; /* timer min-heap on (deadline_ms, seq) */
    size_t heap_len;    /* active timers */
    size_t heap_cap;    /* entries allocated */
    uint64_t timer_seq; /* next start order number */

    int post_fd;                /* eventfd that wakes the loop for posts */
    pthread_mutex_t post_lock;  /* guards post_head and post_tail */
    cio__post_t *post_head;     /* oldest queued post */
    cio__post_t *post_tail;     /* newest queued post */
    atomic_size_t post_pending; /* queued or running posts: keep life */

    int signal_fd;                     /* signalfd, -1 until the first watch */
    sigset_t signal_set;               /* signals this loop watches */
    sigset_t signal_was_blocked;       /* which of them were blocked before */
    struct cio__signal_watch *signals; /* callbacks, indexed by signum */
};

/* A signal callback slot. */
typedef struct cio__signal_watch {
    cio_signal_cb cb; /* NULL when not watched */
    void *data;       /* the user's pointer */
} cio__signal_watch_t;

/* loop.c */
int cio__loop_register_internal(cio_loop_t *loop, int fd, cio_io_cb cb,
                                void *data);

/* timer.c */
int cio__timers_timeout(cio_loop_t *loop);
void cio__timers_run(cio_loop_t *loop);
void cio__timers_free(cio_loop_t *loop);

/* post.c */
int cio__posts_init(cio_loop_t *loop);
void cio__posts_free(cio_loop_t *loop);

/* signal.c */
void cio__signals_free(cio_loop_t *loop);

#endif
