/* The automatic gear: tasks (coroutines run by a hub) that block on IO,
 * time and each other by switching to the hub, gevent style.
 *
 * The hub is itself a coroutine that runs the thread's event loop. Every
 * blocking call takes a deadline: absolute milliseconds on cio_hub_now()'s
 * clock, -1 to wait forever, 0 to not block. Blocking calls return -ETIMEDOUT
 * when the deadline passes, -ECANCELED once the task is killed, -EINTR when it
 * is interrupted. They may only be called from a task. */
#ifndef CORIO_HUB_H
#define CORIO_HUB_H

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
 * NULL) gets main_fn's return value. Returns 0, -EDEADLK if every task waits
 * and nothing can ever wake one (a report goes to stderr), or -errno. */
int cio_hub_run(void **result, cio_task_cb main_fn, void *arg);
int cio_hub_run_ex(const cio_hub_opts_t *opts, void **result,
                   cio_task_cb main_fn, void *arg);

/* The loop run by this thread's hub (NULL outside cio_hub_run). */
cio_loop_t *cio_hub_loop(void);

/* Starts fn(arg) as a new task, runnable at the next switch to the hub.
 * With out == NULL the task is detached (freed when it ends); otherwise the
 * caller owns it and must cio_task_join or cio_task_detach it, then it is freed
 * by cio_task_free. Returns 0 or -ENOMEM/-EAGAIN. */
int cio_task_spawn(cio_task_t **out, cio_task_cb fn, void *arg);

/* The running task (NULL when called from outside a task). */
cio_task_t *cio_task_self(void);

/* Now, in milliseconds on the hub loop's monotonic clock. */
int64_t cio_hub_now(void);

/* A deadline ms milliseconds from now; -1 for ms < 0 (forever). */
int64_t cio_deadline_in(int64_t ms);

/* Sleeps ms milliseconds; 0 yields to every other ready task. */
int cio_task_sleep(int64_t ms);

/* Sleeps until an absolute deadline. */
int cio_task_sleep_until(int64_t deadline_ms);

/* Waits for task to finish: 0, or -ETIMEDOUT/-ECANCELED/-EINTR. */
int cio_task_join(cio_task_t *task, int64_t deadline_ms);

/* Waits for all n tasks to finish (NULL entries are skipped). */
int cio_task_join_all(cio_task_t *const *tasks, size_t n, int64_t deadline_ms);

/* Cancels task: its current and every later blocking call return
 * -ECANCELED until its function returns. Returns 0 or -ESRCH (finished). */
int cio_task_kill(cio_task_t *task);

/* Makes task's current (or next) blocking call return -EINTR, once. */
int cio_task_interrupt(cio_task_t *task);

/* True once cio_task_kill has been called on the running task. */
bool cio_task_cancelled(void);

/* True once the task's function has returned. */
bool cio_task_done(const cio_task_t *task);

/* The task function's return value (NULL until done). */
void *cio_task_result(const cio_task_t *task);

/* 0 if the task returned normally, -ECANCELED if it ended after a kill. */
int cio_task_status(const cio_task_t *task);

/* Names the task for cio_hub_dump (the string is copied). */
void cio_task_set_name(cio_task_t *task, const char *name);

/* Gives up ownership: the task is freed when it ends (now, if it has). */
void cio_task_detach(cio_task_t *task);

/* Frees a finished, joined task. */
void cio_task_free(cio_task_t *task);

/* Writes one line per task on this hub: id, name, state, what it waits on. */
void cio_hub_dump(FILE *out);

/* Number of live tasks on this thread's hub. */
size_t cio_hub_task_count(void);

/* Counts a wake source the hub cannot see (a signal watch, posts from
 * another thread that will wake a task): while the count is above zero the
 * hub keeps waiting for events and never reports a deadlock. */
void cio_hub_ref(void);
void cio_hub_unref(void);

/* Makes tasks that wait at least ms milliseconds give their stacks back
 * while they wait (cio_coro_shrink); 0 turns it off (the default). For
 * servers holding many idle sessions. */
void cio_hub_set_shrink_after(int64_t ms);

#ifdef __cplusplus
}
#endif

#endif
