/* Synchronisation between tasks of one hub: queues, events, semaphores,
 * locks, wait groups and a pool that bounds concurrency. None of these is
 * thread-safe: tasks on one hub never run at the same time. Every wait
 * but cio_pool_free's takes a deadline, and they return the wait errors of
 * hub.h (-ETIMEDOUT, -ECANCELED, -EINTR, -EPERM outside a task, -ENOMEM).
 * Every object has a data pointer for the program that corio never uses. */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "hub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- queues: a FIFO of pointers; capacity 0 = unbounded ---- */
typedef struct cio_queue cio_queue_t;

/* Creates a queue. Returns 0 or -ENOMEM. */
CIO_API int cio_queue_new(cio_queue_t **out, size_t capacity);
/* Frees the queue; tasks still waiting on it get -EPIPE. NULL is ignored. */
CIO_API void cio_queue_free(cio_queue_t *q);
/* Appends item, waiting for room when full. Returns 0, -EPIPE once closed,
 * -EINVAL (q NULL), -ENOMEM, the wait errors; outside a task, -EAGAIN
 * instead of waiting. */
CIO_API int cio_queue_put(cio_queue_t *q, void *item, int64_t deadline_ms);
/* Removes the oldest item into *item. After close, drains what is left and
 * then returns -EPIPE. Returns 0, -EPIPE, -EINVAL (q or item NULL), the
 * wait errors; outside a task, -EAGAIN instead of waiting. */
CIO_API int cio_queue_get(cio_queue_t *q, void **item, int64_t deadline_ms);
/* Refuses further puts and wakes every waiter. */
CIO_API void cio_queue_close(cio_queue_t *q);
/* Items queued (0 for NULL). */
CIO_API size_t cio_queue_len(const cio_queue_t *q);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_queue_set_data(cio_queue_t *q, void *data);
CIO_API void *cio_queue_data(const cio_queue_t *q);

/* ---- events: a wait blocks while the event is clear ---- */
typedef struct cio_event cio_event_t;

/* Creates a clear event. Returns 0 or -ENOMEM. */
CIO_API int cio_event_new(cio_event_t **out);
/* Frees the event; tasks still waiting get -EPIPE. NULL is ignored. */
CIO_API void cio_event_free(cio_event_t *ev);
/* Sets the event and wakes every waiter. */
CIO_API void cio_event_set(cio_event_t *ev);
/* Clears the event. */
CIO_API void cio_event_clear(cio_event_t *ev);
/* True while the event is set. */
CIO_API bool cio_event_is_set(const cio_event_t *ev);
/* Waits until the event is set. Returns 0, -EPIPE (freed meanwhile) or the
 * wait errors. */
CIO_API int cio_event_wait(cio_event_t *ev, int64_t deadline_ms);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_event_set_data(cio_event_t *ev, void *data);
CIO_API void *cio_event_data(const cio_event_t *ev);

/* ---- counting semaphores ---- */
typedef struct cio_sem cio_sem_t;

/* Creates a semaphore holding initial units. Returns 0 or -ENOMEM. */
CIO_API int cio_sem_new(cio_sem_t **out, size_t initial);
/* Frees the semaphore; tasks still waiting get -EPIPE. */
CIO_API void cio_sem_free(cio_sem_t *sem);
/* Takes a unit, waiting for one. Returns 0, -EPIPE or the wait errors. */
CIO_API int cio_sem_acquire(cio_sem_t *sem, int64_t deadline_ms);
/* Gives a unit back (to the oldest waiter first). */
CIO_API void cio_sem_release(cio_sem_t *sem);
/* Units available now. */
CIO_API size_t cio_sem_value(const cio_sem_t *sem);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_sem_set_data(cio_sem_t *sem, void *data);
CIO_API void *cio_sem_data(const cio_sem_t *sem);

/* ---- locks: a mutex owned by a task ---- */
typedef struct cio_lock cio_lock_t;

/* Creates an unlocked lock. Returns 0 or -ENOMEM. */
CIO_API int cio_lock_new(cio_lock_t **out);
/* Frees the lock; tasks still waiting get -EPIPE. */
CIO_API void cio_lock_free(cio_lock_t *lock);
/* Takes the lock. Returns 0, -EDEADLK (the caller holds it), -EPIPE or the
 * wait errors. */
CIO_API int cio_lock_acquire(cio_lock_t *lock, int64_t deadline_ms);
/* Releases the lock (to the oldest waiter first). Returns 0 or -EPERM (the
 * caller does not hold it). */
CIO_API int cio_lock_release(cio_lock_t *lock);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_lock_set_data(cio_lock_t *lock, void *data);
CIO_API void *cio_lock_data(const cio_lock_t *lock);

/* ---- wait groups: add before starting work, done when each finishes,
 * wait until the count is zero ---- */
typedef struct cio_waitgroup cio_waitgroup_t;

/* Creates a wait group at zero. Returns 0 or -ENOMEM. */
CIO_API int cio_waitgroup_new(cio_waitgroup_t **out);
/* Frees the wait group; tasks still waiting get -EPIPE. */
CIO_API void cio_waitgroup_free(cio_waitgroup_t *wg);
/* Adds n to the count. */
CIO_API void cio_waitgroup_add(cio_waitgroup_t *wg, size_t n);
/* Takes one off the count (never below zero); at zero wakes the waiters. */
CIO_API void cio_waitgroup_done(cio_waitgroup_t *wg);
/* Waits until the count is zero. Returns 0, -EPIPE or the wait errors. */
CIO_API int cio_waitgroup_wait(cio_waitgroup_t *wg, int64_t deadline_ms);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_waitgroup_set_data(cio_waitgroup_t *wg, void *data);
CIO_API void *cio_waitgroup_data(const cio_waitgroup_t *wg);

/* ---- pools: at most `size` tasks at once (gevent's Pool) ---- */
typedef struct cio_pool cio_pool_t;

/* Creates a pool. Returns 0, -EINVAL (size 0) or -ENOMEM. */
CIO_API int cio_pool_new(cio_pool_t **out, size_t size);
/* Waits for every task of the pool, then frees it; if that wait is cut
 * short (killed, or not called from a task) the last task to return frees
 * it. Tasks waiting for a slot or a join get -EPIPE. */
CIO_API void cio_pool_free(cio_pool_t *pool);
/* Spawns fn(arg) once a slot is free (waiting until the deadline); out as
 * in cio_task_spawn. Returns 0, -EINVAL (pool or fn NULL), -ENOMEM,
 * -EAGAIN, -EPIPE or the wait errors. */
CIO_API int cio_pool_spawn(cio_pool_t *pool, cio_task_t **out, cio_task_cb fn,
                           void *arg, int64_t deadline_ms);
/* Waits until no task of the pool runs. Returns 0 or the wait errors. */
CIO_API int cio_pool_join(cio_pool_t *pool, int64_t deadline_ms);
/* Tasks of the pool running now. */
CIO_API size_t cio_pool_running(const cio_pool_t *pool);
/* A pointer for the program, never used by corio (NULL at creation). */
CIO_API void cio_pool_set_data(cio_pool_t *pool, void *data);
CIO_API void *cio_pool_data(const cio_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif
