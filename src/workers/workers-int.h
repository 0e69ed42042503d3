/* Private parts of the worker groups, shared by the files of src/workers. */
#ifndef CIO_WORKERS_INT_H
#define CIO_WORKERS_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/list.h"
#include "corio/hub.h"
#include "corio/sync.h"
#include "corio/workers.h"

/* The CPUs that the CPU quota of the cgroup named in proc_cgroup (a
 * /proc/PID/cgroup file) allows, with cgroup file systems under root
 * (/sys/fs/cgroup): the smallest on the path to the root, rounded up; 0 for
 * no quota (cpus.c). */
unsigned cio__cgroup_cpu_limit(const char *proc_cgroup, const char *root);

/* cio_workers_cpus for the process: the main thread's mask (workers may
 * be pinned to one CPU each), capped by the quota. */
unsigned cio__process_cpus(void);

/* Steers the new connections of a SO_REUSEPORT group to its first n
 * listeners (all of them when n is their count): a squeezed process does
 * not spread them over workers that would share a CPU. 0 or -errno. */
int cio__listeners_steer(cio_workers_t *g, unsigned n);

/* Default time given to tasks after a stop. */
#define CIO__WORKERS_GRACE_MS 5000

/* One worker thread. Fields marked (own) are touched by its thread only. */
typedef struct cio__worker {
    cio_workers_t *group;       /* the group it belongs to */
    unsigned local;             /* index within this process's workers */
    pthread_t thread;           /* the thread running it */
    bool thread_started;        /* thread was created (to join it) */
    cio_chan_t *inbox;          /* spawn requests; closed to stop the worker */
    cio_event_t *stop_ev;       /* (own) set when the stop arrives */
    atomic_bool stopping;       /* the stop has reached this worker */
    int64_t stop_deadline;      /* (own) when tasks left get killed */
    cio_task_t *main_task;      /* (own) the task running the group's fn */
    cio_waitgroup_t *remote_wg; /* (own) counts live remote tasks */
    struct cio__list remotes;   /* (own) live remote tasks */
    int rc;                     /* cio_hub_run's result, read after the join */
} cio__worker;

struct cio_workers {
    pthread_mutex_t mu;     /* guards the process-mode state and `done` */
    pthread_cond_t cond;    /* signalled when the supervisor has finished */
    unsigned threads;       /* workers per process */
    unsigned processes;     /* 0 = thread mode */
    unsigned index_base;    /* index of this process's first worker */
    bool catch_signals;     /* SIGINT/SIGTERM stop the group */
    bool shared_listener;   /* never use SO_REUSEPORT */
    bool pin_cpus;          /* one CPU per worker thread */
    int64_t grace_ms;       /* stop grace */
    cio_hub_opts_t run;     /* each worker's cio_hub_run_ex options */
    cio_task_cb fn;         /* the function every worker runs */
    void *arg;              /* its argument */
    int state;              /* CIO__G_NEW, _STARTED or _WAITED */
    atomic_bool stopping;   /* cio_workers_stop has been called */
    atomic_int stop_signal; /* the signal that stopped the group */
    cio__worker *workers;   /* `threads` workers (thread mode, or a child) */
    int *listen_fds;        /* listening sockets, -1 once closed (mu) */
    unsigned nlisten;       /* 0, 1 (shared) or one per worker overall */
    int port;               /* the bound port */
    /* signals: */
    pthread_t starter;    /* thread that called start (mask restored there) */
    sigset_t old_mask;    /* its mask before start */
    bool mask_changed;    /* start blocked signals in it */
    pthread_t sig_thread; /* waits for signals (thread mode) or supervises
                             the worker processes (process mode) */
    bool sig_started;     /* sig_thread was created */
    atomic_bool sig_quit; /* tells sig_thread to end */
    struct sigaction old_chld; /* SIGCHLD action before process mode */
    bool chld_installed;       /* process mode replaced the SIGCHLD action */
    /* process mode (guarded by mu): */
    pid_t *pids;           /* per process, 0 when dead */
    int64_t *born_ms;      /* when each was forked */
    int64_t *restart_ms;   /* when a dead one gets forked again */
    unsigned *fast_deaths; /* consecutive deaths soon after start */
    unsigned restarts;     /* restarts so far */
    bool done;             /* every worker process has ended after a stop */
    void *user;            /* the program's pointer (cio_workers_set_data) */
};

enum { CIO__G_NEW, CIO__G_STARTED, CIO__G_WAITED };

/* The worker running on this thread, or NULL. */
cio__worker *cio__worker_current(void);

/* group.c: thread workers. */
int cio__workers_start_threads(cio_workers_t *g);
int cio__workers_join_threads(cio_workers_t *g);

/* remote.c: runs a spawn request on the calling worker; kills those left. */
void cio__remote_start(cio__worker *w, void *request);
void cio__remote_kill_all(cio__worker *w);

/* signals.c: the signal thread of thread mode. */
int cio__signals_start(cio_workers_t *g);
void cio__signals_end(cio_workers_t *g);
void cio__signals_restore(cio_workers_t *g);

/* listen.c: closes the group's listening sockets at a stop (the caller
 * holds g->mu), so that new connections are refused at once instead of
 * waiting in a backlog that no worker accepts from any more. */
void cio__listeners_close(cio_workers_t *g);

/* proc.c: process mode. */
int cio__proc_start(cio_workers_t *g);
int cio__proc_wait(cio_workers_t *g);
void cio__proc_stop(cio_workers_t *g);

#endif
