/* Every core: a group of workers, each a thread with its own loop and hub
 * (coroutines never migrate, nothing is shared on the hot path), started and
 * stopped together; listening sockets spread over the workers with
 * SO_REUSEPORT; a channel that any thread may send into and a task receives
 * from; tasks spawned on another worker and joined from here; and a process
 * mode that forks the workers after listening and restarts those that die.
 *
 * Typical server:
 *
 *     cio_workers_t *g;
 *     cio_workers_opts_t o = {.threads = 4, .catch_signals = true};
 *     cio_workers_new(&g, &o);
 *     int port = cio_workers_listen(g, "127.0.0.1", 0, 0);
 *     cio_workers_start(g, serve_fn, NULL); // serve_fn calls cio_workers_serve
 *     cio_workers_wait(g);                  // until SIGINT/SIGTERM
 *     cio_workers_free(g);
 *
 * A worker runs until the group is stopped (cio_workers_stop, a caught
 * signal, or one worker failing), even after its function returns. On a
 * stop, tasks see cio_workers_stopping() and cio_workers_wait_stop() return;
 * the worker's function and the tasks spawned on it with cio_workers_spawn
 * get stop_grace_ms to finish and are then killed. Other tasks must end by
 * themselves (cio_workers_serve stops its server, which kills its handlers).
 */
#ifndef CORIO_WORKERS_H
#define CORIO_WORKERS_H

#include "export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hub.h"
#include "io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- cross-thread channel ---- */

/* A FIFO of pointers. Senders may be any thread and never block; receivers
 * are tasks, woken through cio_loop_post, of one hub at a time (while one
 * waits, a task of another hub gets -EXDEV), or plain threads, which block
 * on a condition variable. Items are delivered in the order each sender
 * sent them. */
typedef struct cio_chan cio_chan_t;

/* Creates a channel holding at most capacity items (0 = unbounded).
 * Returns 0 or -ENOMEM. */
CIO_API int cio_chan_new(cio_chan_t **out, size_t capacity);

/* Frees the channel. Call it once no task or thread waits on it and none
 * will send again; items still queued are dropped. */
CIO_API void cio_chan_free(cio_chan_t *ch);

/* Any thread: appends item. Returns 0, -EAGAIN when full, -EPIPE once
 * closed, or -ENOMEM. */
CIO_API int cio_chan_send(cio_chan_t *ch, void *item);

/* Receives the oldest item into *item, waiting until the deadline (see
 * hub.h; from a plain thread, milliseconds on CLOCK_MONOTONIC, the clock of
 * cio_hub_now). Returns 0, -EPIPE once closed and drained, -ETIMEDOUT,
 * -ECANCELED, -EINTR, -EXDEV while a task of another hub waits, -ENOMEM. */
CIO_API int cio_chan_recv(cio_chan_t *ch, void **item, int64_t deadline_ms);

/* Any thread: refuses further sends and wakes every receiver; they drain
 * what is queued and then get -EPIPE. */
CIO_API void cio_chan_close(cio_chan_t *ch);

/* Items queued now (a snapshot when other threads send). */
CIO_API size_t cio_chan_len(cio_chan_t *ch);

/* A pointer for the program, never used by corio (not thread-safe: set it
 * before sharing the channel). */
CIO_API void cio_chan_set_data(cio_chan_t *ch, void *data);
CIO_API void *cio_chan_data(const cio_chan_t *ch);

/* ---- worker groups ---- */

typedef struct cio_workers cio_workers_t;

/* Options for cio_workers_new; zero-initialise and set what you need. */
typedef struct cio_workers_opts {
    unsigned threads;          /* worker threads (per process in process mode);
                                  0 = cio_workers_cpus(), or 1 in process
                                  mode */
    unsigned processes;        /* 0 = threads of this process; N = fork N
                                  processes after listening, each running
                                  `threads` workers, supervised and restarted */
    bool catch_signals;        /* SIGINT/SIGTERM stop every worker, once */
    bool shared_listener;      /* one listening socket for all workers even
                                  where SO_REUSEPORT works */
    int64_t stop_grace_ms;     /* time given to tasks after a stop before they
                                  are killed; 0 = 5000 */
    const cio_hub_opts_t *run; /* each worker's cio_hub_run_ex options (copied);
                                NULL = defaults */
    bool pin_cpus;             /* pin worker i to the i-th CPU (modulo their
                                  count) this process may run on */
} cio_workers_opts_t;

/* Creates a stopped group (opts NULL: defaults). Returns 0, -EINVAL (more
 * than 4096 threads or processes) or -ENOMEM. */
CIO_API int cio_workers_new(cio_workers_t **out,
                            const cio_workers_opts_t *opts);

/* Before start: listens on TCP host:port (host as in cio_tcp_listen; port 0
 * picks one) with one SO_REUSEPORT socket per worker, so the kernel spreads
 * connections, or one shared socket where SO_REUSEPORT is unavailable (or
 * shared_listener is set). Returns the bound port, -EBUSY (started, or
 * listening already), -ENOMEM, the name-lookup errors of cio_tcp_listen
 * (-ENOENT: no such name), or socket/bind/listen's -errno. */
CIO_API int cio_workers_listen(cio_workers_t *g, const char *host,
                               uint16_t port, int backlog);

/* True when cio_workers_listen gave each worker its own socket. */
CIO_API bool cio_workers_reuseport(const cio_workers_t *g);

/* Starts every worker running fn(arg) as its first task (from a thread that
 * is not a worker and runs no hub). In process mode the workers are forked
 * now and a supervisor thread restarts those that die. With catch_signals,
 * SIGINT and SIGTERM are blocked in the calling thread until
 * cio_workers_wait returns: start the group before other threads, or block
 * them there too. Returns 0, -EBUSY (started already, or called from a
 * hub's thread), -ENOMEM, or pthread_create/fork's -errno (-EAGAIN). */
CIO_API int cio_workers_start(cio_workers_t *g, cio_task_cb fn, void *arg);

/* Any thread, any number of times: asks every worker to stop (through
 * cio_loop_post; in process mode, SIGTERM to each worker process). */
CIO_API void cio_workers_stop(cio_workers_t *g);

/* Blocks the calling thread (not a worker) until every worker has ended.
 * Returns 0, the first error a worker's cio_hub_run reported, or -EDEADLK
 * when called from a worker. */
CIO_API int cio_workers_wait(cio_workers_t *g);

/* Frees a group (stopping it and waiting first if it runs), closing its
 * listening sockets. Not from one of its workers. */
CIO_API void cio_workers_free(cio_workers_t *g);

/* Workers in the group (all processes together in process mode). */
CIO_API unsigned cio_workers_count(const cio_workers_t *g);

/* The CPUs this thread may run on (its affinity mask, so taskset and
 * cpusets count), fewer when the process's cgroup has a CPU quota
 * (cpu.max, or cpu.cfs_quota_us in cgroup v1; rounded up: 1.5 CPUs count
 * as 2), at least 1: the worker count that threads = 0 gives. */
CIO_API unsigned cio_workers_cpus(void);

/* The signal (SIGINT or SIGTERM) that stopped the group, or 0. */
CIO_API int cio_workers_signal(const cio_workers_t *g);

/* A pointer for the program, never used by corio. */
CIO_API void cio_workers_set_data(cio_workers_t *g, void *data);
CIO_API void *cio_workers_data(const cio_workers_t *g);

/* Process mode: stores in *pid the pid of worker process `proc` (0 while it
 * is being restarted). Returns 0, or -EINVAL (not process mode, proc out of
 * range, pid NULL). */
CIO_API int cio_workers_pid(cio_workers_t *g, pid_t *pid, unsigned proc);

/* Process mode: how many worker processes have been restarted. */
CIO_API unsigned cio_workers_restarts(cio_workers_t *g);

/* ---- inside a worker ---- */

/* The group of the calling worker thread, or NULL. */
CIO_API cio_workers_t *cio_workers_self(void);

/* The calling worker's index (0 .. count-1, unique across processes), or
 * -1 outside a worker. */
CIO_API int cio_workers_index(void);

/* A new fd (the caller owns it) for the calling worker's listening socket:
 * its own SO_REUSEPORT socket, or the shared one. -ENOENT without
 * cio_workers_listen, -EPERM outside a worker, -ECANCELED once the group
 * has stopped: a stop closes the group's sockets, and a socket stops
 * listening once its last copy is closed too. */
CIO_API int cio_workers_listener(void);

/* True once the calling worker's group is stopping. */
CIO_API bool cio_workers_stopping(void);

/* Waits until the calling worker's group stops: 0, -ETIMEDOUT, -ECANCELED,
 * -EINTR, or -EPERM outside a worker. */
CIO_API int cio_workers_wait_stop(int64_t deadline_ms);

/* Serves the worker's listener: runs handler(fd, peer, peer_len, data) in a
 * task per connection (as cio_server_start) until the group stops, then
 * stops the server within the grace time. Returns 0, -EPERM (not a worker),
 * the errors of cio_workers_listener and cio_server_start, or the wait
 * errors of hub.h but -ETIMEDOUT. */
CIO_API int cio_workers_serve(cio_server_conn_cb handler, void *data,
                              size_t max_conns);

/* ---- tasks on another worker ---- */

/* A task started on a given worker, joined from any task or thread. */
typedef struct cio_remote cio_remote_t;

/* Any thread: runs fn(arg) as a task on worker `index` of a thread group
 * (not the parent of process mode). With out == NULL the task is detached.
 * Returns 0, -EINVAL, -ENOTSUP (process mode), -EPIPE (stopping), -ENOMEM. */
CIO_API int cio_workers_spawn(cio_workers_t *g, cio_remote_t **out,
                              unsigned index, cio_task_cb fn, void *arg);

/* Waits for a remote task to end, as cio_task_join does for a local one.
 * Tasks of two hubs cannot wait at the same time. Returns 0 (also when
 * joined before), -ETIMEDOUT, -ECANCELED, -EINTR, -EXDEV (a task of another
 * hub waits), -ENOMEM or -EINVAL (rt NULL). */
CIO_API int cio_remote_join(cio_remote_t *rt, int64_t deadline_ms);

/* After a successful cio_remote_join: the task function's return value
 * (NULL before, or if it never ran). */
CIO_API void *cio_remote_result(const cio_remote_t *rt);

/* After a successful cio_remote_join: 0 if the task returned normally,
 * -ECANCELED if it ended after a kill, -EPIPE or -ENOMEM if it could not be
 * started; -EBUSY before the join, -EINVAL for NULL. */
CIO_API int cio_remote_status(const cio_remote_t *rt);

/* Releases the handle; the task itself runs on to its end. */
CIO_API void cio_remote_free(cio_remote_t *rt);

/* A pointer for the program on the handle, never used by corio. */
CIO_API void cio_remote_set_data(cio_remote_t *rt, void *data);
CIO_API void *cio_remote_data(const cio_remote_t *rt);

#ifdef __cplusplus
}
#endif

#endif
