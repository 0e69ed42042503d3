/* The automatic gear: tasks (coroutines run by a hub) that block on IO,
 * time and each other by switching to the hub, gevent style.
 *
 * The hub is itself a coroutine that runs the thread's event loop. Blocking
 * calls take a deadline: absolute milliseconds on cio_hub_now()'s clock, -1
 * to wait forever, 0 to not block. They may only be called from a task and
 * share these errors ("the wait errors" below): -ETIMEDOUT when the deadline
 * passes, -ECANCELED once the task is killed, -EINTR when it is interrupted,
 * -EPERM outside a task, -ENOMEM when the deadline timer cannot be armed. */
#ifndef CORIO_HUB_H
#define CORIO_HUB_H

#include "export.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_task cio_task_t;
typedef void *(*cio_task_cb)(void *arg);

/* Options for cio_hub_run_ex; zero-initialise and set what you need. */
typedef struct cio_hub_opts {
    const char *backend;  /* loop backend, NULL = CIO_BACKEND or the default */
    size_t stack_size;    /* task stack size, 0 = CIO_CORO_STACK_DEFAULT */
    bool dump_on_sigquit; /* print every task on SIGQUIT (cio_hub_dump) */
} cio_hub_opts_t;

/* Creates a loop and a hub on this thread, runs main_fn(arg) as a task and
 * returns when it and every task it spawned have finished; *result (may be
 * NULL) gets main_fn's return value. Returns 0, -EDEADLK if every task
 * waits and nothing can ever wake one (a report goes to stderr), -EBUSY if
 * this thread already runs a hub, -EINVAL (main_fn NULL, unknown backend),
 * -ENOMEM, -EAGAIN, or the loop backend's error. */
CIO_API int cio_hub_run(void **result, cio_task_cb main_fn, void *arg);
CIO_API int cio_hub_run_ex(const cio_hub_opts_t *opts, void **result,
                           cio_task_cb main_fn, void *arg);

/* The loop run by this thread's hub (NULL outside cio_hub_run). The loop's
 * data pointer is the program's: the hub never sets it. */
CIO_API cio_loop_t *cio_hub_loop(void);

/* Now, in milliseconds on the hub loop's monotonic clock (CLOCK_MONOTONIC
 * read directly outside a hub). Never fails. */
CIO_API int64_t cio_hub_now(void);

/* A deadline ms milliseconds from now; -1 for ms < 0 (forever). */
CIO_API int64_t cio_deadline_in(int64_t ms);

/* Starts fn(arg) as a new task, runnable at the next switch to the hub.
 * With out == NULL the task is detached (freed when it ends); otherwise the
 * caller owns the handle and gives it up with cio_task_free or
 * cio_task_detach. Returns 0, -EPERM (no hub on this thread), -EINVAL (fn
 * NULL), -ENOMEM or -EAGAIN (no memory or mappings for the stack). */
CIO_API int cio_task_spawn(cio_task_t **out, cio_task_cb fn, void *arg);

/* The running task (NULL when called from outside a task). */
CIO_API cio_task_t *cio_task_self(void);

/* Sleeps ms milliseconds (ms < 0: until killed or interrupted); 0 yields to
 * every other ready task. Returns 0 when the time has passed, or -ECANCELED,
 * -EINTR, -EPERM, -ENOMEM (the wait errors but -ETIMEDOUT). */
CIO_API int cio_task_sleep(int64_t ms);

/* Sleeps until an absolute deadline; returns as cio_task_sleep. */
CIO_API int cio_task_sleep_until(int64_t deadline_ms);

/* Waits for task to finish. Returns 0 (also if it finished earlier or was
 * killed: see cio_task_status), the wait errors, -EDEADLK (task is the
 * caller), -EINVAL (task NULL or of another hub). */
CIO_API int cio_task_join(cio_task_t *task, int64_t deadline_ms);

/* Waits for all n tasks to finish (NULL entries are skipped). Returns 0 or
 * the first error of cio_task_join. */
CIO_API int cio_task_join_all(cio_task_t *const *tasks, size_t n,
                              int64_t deadline_ms);

/* Cancels task: its current and every later blocking call return
 * -ECANCELED until its function returns, or, while it is shielded
 * (cio_task_shield), once its grace has passed. Returns 0, -ESRCH
 * (finished) or -EINVAL (NULL). */
CIO_API int cio_task_kill(cio_task_t *task);

/* Makes task's current (or next) blocking call return -EINTR, once.
 * Returns 0, -ESRCH (finished) or -EINVAL (NULL). */
CIO_API int cio_task_interrupt(cio_task_t *task);

/* Cleanup after a kill: while the running task is shielded, a kill does not
 * end its blocking calls at once; they work on until grace_ms after the
 * (first) kill and then return -ECANCELED. grace_ms < 0 removes the shield.
 * Returns the previous grace (-1: none), so that sections nest:
 *     int64_t old = cio_task_shield(500); ...flush, say goodbye...;
 *     cio_task_shield(old);
 * Outside a task it does nothing and returns -1. */
CIO_API int64_t cio_task_shield(int64_t grace_ms);

/* True once cio_task_kill has been called on the running task. */
CIO_API bool cio_task_cancelled(void);

/* True once the task's function has returned. */
CIO_API bool cio_task_done(const cio_task_t *task);

/* The task function's return value (NULL until done). */
CIO_API void *cio_task_result(const cio_task_t *task);

/* 0 if the task returned normally, -ECANCELED if it ended after a kill,
 * -EINVAL for NULL. */
CIO_API int cio_task_status(const cio_task_t *task);

/* Names the task for cio_hub_dump (the string is copied). */
CIO_API void cio_task_set_name(cio_task_t *task, const char *name);

/* A pointer for the program, never used by corio (NULL at spawn). */
CIO_API void cio_task_set_data(cio_task_t *task, void *data);
CIO_API void *cio_task_data(const cio_task_t *task);

/* Gives up the handle and lets the task run on: it is freed when it ends
 * (now, if it has). */
CIO_API void cio_task_detach(cio_task_t *task);

/* Gives up the handle of a task the caller is done with: a finished task is
 * freed now; one still running is killed (as cio_task_kill) and freed when
 * it ends, so no task outlives a freed handle by more than its cleanup.
 * NULL is ignored. */
CIO_API void cio_task_free(cio_task_t *task);

/* Writes one line per task on this hub: id, name, state, what it waits on.
 * Does nothing outside a hub. */
CIO_API void cio_hub_dump(FILE *out);

/* Number of live tasks on this thread's hub (0 outside one). */
CIO_API size_t cio_hub_task_count(void);

/* Counts a wake source the hub cannot see (a signal watch, posts from
 * another thread that will wake a task): while the count is above zero the
 * hub keeps waiting for events and never reports a deadlock. Ignored
 * outside a hub; unref never goes below zero. */
CIO_API void cio_hub_ref(void);
CIO_API void cio_hub_unref(void);

/* Makes tasks that wait at least ms milliseconds give their stacks back
 * while they wait (cio_coro_shrink); 0 turns it off (the default). For
 * servers holding many idle sessions. Outside a hub, sets the value the
 * thread's next hub starts with. */
CIO_API void cio_hub_set_shrink_after(int64_t ms);

#ifdef __cplusplus
}
#endif

#endif
