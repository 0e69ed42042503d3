/* Semaphores and locks. A release hands the unit (or the lock) straight to
 * the oldest waiter, so a task that arrives later cannot overtake it. */
#include <errno.h>
#include <stdlib.h>

#include "corio/sync.h"
#include "hub/wait.h"

struct cio_sem {
    size_t value;              /* units available */
    struct cio__waitq waiters; /* tasks in cio_sem_acquire */
    void *user;                /* the program's pointer (cio_sem_set_data) */
};

int cio_sem_new(cio_sem_t **out, size_t initial)
{
    cio_sem_t *sem = calloc(1, sizeof *sem);
    if (!sem)
        return -ENOMEM;
    sem->value = initial;
    *out = sem;
    return 0;
}

void cio_sem_free(cio_sem_t *sem)
{
    if (!sem)
        return;
    cio__waitq_wake_all(&sem->waiters, -EPIPE);
    free(sem);
}

int cio_sem_acquire(cio_sem_t *sem, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (sem->value > 0) {
        sem->value--;
        return 0;
    }
    rc =
        cio__wait_in(&sem->waiters, t, NULL, NULL, deadline_ms, "semaphore", 0);
    return rc; /* 0: the releaser handed us its unit */
}

void cio_sem_release(cio_sem_t *sem)
{
    if (!cio__waitq_wake_one(&sem->waiters, 0, NULL))
        sem->value++;
}

size_t cio_sem_value(const cio_sem_t *sem)
{
    return sem->value;
}

struct cio_lock {
    cio_task_t *owner;         /* holder, NULL when free */
    struct cio__waitq waiters; /* tasks in cio_lock_acquire */
    void *user;                /* the program's pointer (cio_lock_set_data) */
};

int cio_lock_new(cio_lock_t **out)
{
    cio_lock_t *lock = calloc(1, sizeof *lock);
    if (!lock)
        return -ENOMEM;
    *out = lock;
    return 0;
}

void cio_lock_free(cio_lock_t *lock)
{
    if (!lock)
        return;
    cio__waitq_wake_all(&lock->waiters, -EPIPE);
    free(lock);
}

int cio_lock_acquire(cio_lock_t *lock, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    if (!lock->owner) {
        lock->owner = t;
        return 0;
    }
    if (lock->owner == t)
        return -EDEADLK;
    rc = cio__wait_in(&lock->waiters, t, NULL, NULL, deadline_ms, "lock", 0);
    return rc; /* 0: the releaser made us the owner */
}

int cio_lock_release(cio_lock_t *lock)
{
    if (lock->owner != cio__self())
        return -EPERM;
    lock->owner = NULL;
    struct cio__waiter *w;
    while ((w = cio__waitq_pop(&lock->waiters)) != NULL) {
        if (w->task->state == CIO__WAITING) {
            lock->owner = w->task;
            cio__wake(w->task, 0);
            break;
        }
    }
    return 0;
}

void cio_sem_set_data(cio_sem_t *sem, void *data)
{
    if (sem)
        sem->user = data;
}

void *cio_sem_data(const cio_sem_t *sem)
{
    return sem ? sem->user : NULL;
}

void cio_lock_set_data(cio_lock_t *lock, void *data)
{
    if (lock)
        lock->user = data;
}

void *cio_lock_data(const cio_lock_t *lock)
{
    return lock ? lock->user : NULL;
}
