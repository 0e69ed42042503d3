/* The event loop: IO readiness over select, poll or epoll, timers, posts
 * from other threads and signals, each delivered to a callback.
 *
 * One loop per thread; a loop is used only by the thread that runs it,
 * except cio_loop_post, which any thread may call. */
#ifndef CORIO_LOOP_H
#define CORIO_LOOP_H

#include "export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_loop cio_loop_t;

/* Readiness bits for cio_loop_register and IO callbacks. */
enum {
    CIO_READABLE = 1, /* data to read, a connection to accept, or EOF */
    CIO_WRITABLE = 2, /* room to write, or a connect that finished */
    CIO_ERROR = 4     /* error or hang-up; reported with the bits asked */
};

/* Run modes for cio_loop_run. */
typedef enum {
    CIO_RUN_DEFAULT, /* until stopped or nothing is left to wait for */
    CIO_RUN_ONCE,    /* one iteration, blocking until something happens */
    CIO_RUN_NOWAIT   /* one iteration without blocking */
} cio_run_mode_t;

/* Called with the events that fired for fd (a subset of those asked, plus
 * CIO_ERROR). The callback may register, modify or unregister any fd. */
typedef void (*cio_io_cb)(cio_loop_t *loop, int fd, int events, void *data);

/* Creates a loop on backend "select", "poll" or "epoll"; NULL takes the
 * environment variable CIO_BACKEND, else the platform's best (epoll).
 * Returns 0, -EINVAL (unknown backend), -ENOMEM or the backend's error. */
CIO_API int cio_loop_new(cio_loop_t **out, const char *backend);

/* Frees a loop that is not running; registrations are dropped, fds are not
 * closed, pending posts are discarded. */
CIO_API void cio_loop_free(cio_loop_t *loop);

/* The backend's name: "select", "poll" or "epoll". */
CIO_API const char *cio_loop_backend(const cio_loop_t *loop);

/* Watches fd for events (CIO_READABLE | CIO_WRITABLE, may be 0 to keep the
 * registration idle) and calls cb(loop, fd, fired, data). Returns 0,
 * -EEXIST if fd is registered, -EINVAL for a bad fd (select: fd >=
 * FD_SETSIZE), or -ENOMEM or the backend's error. */
CIO_API int cio_loop_register(cio_loop_t *loop, int fd, int events,
                              cio_io_cb cb, void *data);

/* Changes the events watched for a registered fd; cheap when unchanged.
 * Returns 0, -ENOENT (fd not registered), -EINVAL (bad events) or the
 * backend's error. */
CIO_API int cio_loop_modify(cio_loop_t *loop, int fd, int events);

/* Stops watching fd. Call it before closing fd: no event for this
 * registration is delivered afterwards, even one fired in this iteration.
 * Returns 0, or -ENOENT if fd is not registered. */
CIO_API int cio_loop_unregister(cio_loop_t *loop, int fd);

/* Runs the loop in the given mode. Returns 0 when stopped or nothing is
 * left to wait for (no watched fd, no active timer), 1 in ONCE/NOWAIT mode
 * when work remains, -EBUSY when called from one of the loop's own
 * callbacks (it is not reentrant), -ENOMEM, or the backend's error. */
CIO_API int cio_loop_run(cio_loop_t *loop, cio_run_mode_t mode);

/* Makes cio_loop_run return after the current iteration. Never fails. */
CIO_API void cio_loop_stop(cio_loop_t *loop);

/* The loop's monotonic clock in milliseconds, updated once per iteration. */
CIO_API int64_t cio_loop_now(const cio_loop_t *loop);

/* Re-reads the clock now (for code that ran long inside a callback) and
 * returns it. */
CIO_API int64_t cio_loop_update_time(cio_loop_t *loop);

/* ---- timers ---- */

typedef struct cio_timer cio_timer_t;
typedef void (*cio_timer_cb)(cio_timer_t *timer);

/* Creates a stopped timer on loop that calls cb(timer) when it fires
 * (cio_timer_data gives data back). Returns 0, -EINVAL (out, loop or cb
 * NULL) or -ENOMEM. Free timers before their loop. */
CIO_API int cio_timer_new(cio_timer_t **out, cio_loop_t *loop, cio_timer_cb cb,
                          void *data);

/* Stops and frees a timer; allowed inside its own callback. NULL is
 * ignored. */
CIO_API void cio_timer_free(cio_timer_t *timer);

/* Starts (or restarts) a timer that fires after timeout_ms and then, if
 * repeat_ms > 0, every repeat_ms. Returns 0, -EINVAL (NULL) or -ENOMEM. */
CIO_API int cio_timer_start(cio_timer_t *timer, int64_t timeout_ms,
                            int64_t repeat_ms);

/* Starts a one-shot timer at an absolute deadline on the loop's clock.
 * Returns 0, -EINVAL (NULL) or -ENOMEM. */
CIO_API int cio_timer_start_at(cio_timer_t *timer, int64_t deadline_ms);

/* Stops a timer; harmless if it is not active. */
CIO_API void cio_timer_stop(cio_timer_t *timer);

/* True while the timer is started and has not fired (or is repeating). */
CIO_API bool cio_timer_active(const cio_timer_t *timer);

/* The timer's data pointer (given to cio_timer_new), never used by corio. */
CIO_API void cio_timer_set_data(cio_timer_t *timer, void *data);
CIO_API void *cio_timer_data(const cio_timer_t *timer);

/* ---- posts from any thread ---- */

typedef void (*cio_post_cb)(cio_loop_t *loop, void *data);

/* Thread-safe: queues fn(loop, data) to run on the loop's thread in FIFO
 * order and wakes the loop. Returns 0 or -ENOMEM. Posts keep a running
 * loop alive until they have run. */
CIO_API int cio_loop_post(cio_loop_t *loop, cio_post_cb fn, void *data);

/* ---- signals ---- */

typedef void (*cio_signal_cb)(cio_loop_t *loop, int signum, void *data);

/* Delivers signum as a loop callback instead of its default action. The
 * signal is blocked in the calling thread; block it in every other thread
 * too (create threads after this call, or use pthread_sigmask). A signal
 * watch does not keep the loop alive by itself. Returns 0, -EINVAL (bad
 * signum or cb NULL), -ENOMEM, or signalfd/sigprocmask's -errno. */
CIO_API int cio_loop_signal(cio_loop_t *loop, int signum, cio_signal_cb cb,
                            void *data);

/* Stops delivering signum to this loop and restores its previous mask.
 * Returns 0, or -ENOENT if signum is not watched. */
CIO_API int cio_loop_signal_stop(cio_loop_t *loop, int signum);

/* Keeps the loop alive while the count is above zero, for work that will
 * end in a post (e.g. a job on another thread): cio_loop_run then waits
 * for it instead of returning 0. Loop thread only. */
CIO_API void cio_loop_ref(cio_loop_t *loop);

/* Drops a count taken by cio_loop_ref (never below zero). */
CIO_API void cio_loop_unref(cio_loop_t *loop);

/* A pointer for the program, never used by corio (not even by the hub that
 * runs the loop); NULL before the first cio_loop_set_data. */
CIO_API void cio_loop_set_data(cio_loop_t *loop, void *data);
CIO_API void *cio_loop_data(const cio_loop_t *loop);

#ifdef __cplusplus
}
#endif

#endif
