/* Synchronisation between tasks of one hub: queues, events, semaphores,
 * locks, wait groups and a pool that bounds concurrency. None of these is
 * thread-safe: tasks on one hub never run at the same time. Every wait takes
 * a deadline (see hub.h). */
#ifndef CORIO_SYNC_H
#define CORIO_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A FIFO of pointers; capacity 0 = unbounded. */
typedef struct cio_queue cio_queue_t;

int cio_queue_new(cio_queue_t **out, size_t capacity);
/* Frees the queue; tasks still waiting on it get -EPIPE. */
void cio_queue_free(cio_queue_t *q);
/* Appends item, waiting for room when full. -EPIPE once closed. */
int cio_queue_put(cio_queue_t *q, void *item, int64_t deadline_ms);
/* Removes the oldest item into *item. After close, drains what is left and
 * then returns -EPIPE. */
int cio_queue_get(cio_queue_t *q, void **item, int64_t deadline_ms);
/* Refuses further puts and wakes every waiter. */
void cio_queue_close(cio_queue_t *q);
size_t cio_queue_len(const cio_queue_t *q);

/* An event: wait blocks while it is clear. */
typedef struct cio_event cio_event_t;

int cio_event_new(cio_event_t **out);
void cio_event_free(cio_event_t *ev);
void cio_event_set(cio_event_t *ev); /* wakes every waiter */
void cio_event_clear(cio_event_t *ev);
bool cio_event_is_set(const cio_event_t *ev);
int cio_event_wait(cio_event_t *ev, int64_t deadline_ms);

/* A counting semaphore. */
typedef struct cio_sem cio_sem_t;

int cio_sem_new(cio_sem_t **out, size_t initial);
void cio_sem_free(cio_sem_t *sem);
int cio_sem_acquire(cio_sem_t *sem, int64_t deadline_ms);
void cio_sem_release(cio_sem_t *sem);
size_t cio_sem_value(const cio_sem_t *sem);

/* A mutex owned by a task; unlock by another task is -EPERM. */
typedef struct cio_lock cio_lock_t;

int cio_lock_new(cio_lock_t **out);
void cio_lock_free(cio_lock_t *lock);
int cio_lock_acquire(cio_lock_t *lock, int64_t deadline_ms);
int cio_lock_release(cio_lock_t *lock);

/* A wait group: add before starting work, done when each finishes, wait
 * until the count is zero. */
typedef struct cio_waitgroup cio_waitgroup_t;

int cio_waitgroup_new(cio_waitgroup_t **out);
void cio_waitgroup_free(cio_waitgroup_t *wg);
void cio_waitgroup_add(cio_waitgroup_t *wg, size_t n);
void cio_waitgroup_done(cio_waitgroup_t *wg);
int cio_waitgroup_wait(cio_waitgroup_t *wg, int64_t deadline_ms);

/* A pool that runs at most `size` tasks at once (gevent's Pool). */
typedef struct cio_pool cio_pool_t;

int cio_pool_new(cio_pool_t **out, size_t size);
/* Waits for every task of the pool, then frees it. */
void cio_pool_free(cio_pool_t *pool);
/* Spawns fn(arg) once a slot is free (waiting until the deadline). out as
 * in cio_task_spawn. */
int cio_pool_spawn(cio_pool_t *pool, cio_task_t **out, cio_task_cb fn,
                   void *arg, int64_t deadline_ms);
/* Waits until no task of the pool runs. */
int cio_pool_join(cio_pool_t *pool, int64_t deadline_ms);
size_t cio_pool_running(const cio_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif
