/* A pool that bounds how many tasks run at once (gevent's Pool): a spawn
 * waits for a free slot; each task gives its slot back when it returns. */
#include <errno.h>
#include <stdlib.h>

#include "corio/sync.h"
#include "hub/wait.h"

struct cio_pool {
    size_t size;             /* tasks allowed at once */
    size_t running;          /* tasks started and not returned */
    bool freed;              /* cio_pool_free came early: last task frees */
    struct cio__waitq slots; /* tasks waiting to spawn */
    struct cio__waitq idle;  /* tasks waiting for running == 0 */
    void *user;              /* the program's pointer (cio_pool_set_data) */
};

/* What a pool task runs: the user's function, then the slot's return. */
struct pool_start {
    cio_pool_t *pool;
    cio_task_cb fn;
    void *arg;
};

int cio_pool_new(cio_pool_t **out, size_t size)
{
    if (size == 0)
        return -EINVAL;
    cio_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        return -ENOMEM;
    pool->size = size;
    *out = pool;
    return 0;
}

static void slot_returned(cio_pool_t *pool)
{
    pool->running--;
    cio__waitq_wake_one(&pool->slots, 0, NULL);
    if (pool->running == 0) {
        cio__waitq_wake_all(&pool->idle, 0);
        if (pool->freed)
            free(pool);
    }
}

static void *pool_task(void *arg)
{
    struct pool_start start = *(struct pool_start *)arg;
    free(arg);
    void *result = start.fn(start.arg);
    slot_returned(start.pool);
    return result;
}

int cio_pool_spawn(cio_pool_t *pool, cio_task_t **out, cio_task_cb fn,
                   void *arg, int64_t deadline_ms)
{
    if (out)
        *out = NULL;
    if (!pool || !fn)
        return -EINVAL;
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    while (pool->running >= pool->size) {
        rc = cio__wait_in(&pool->slots, t, NULL, NULL, deadline_ms, "pool slot",
                          (long)pool->running);
        if (rc < 0)
            return rc;
    }
    struct pool_start *start = malloc(sizeof *start);
    if (!start)
        return -ENOMEM;
    start->pool = pool;
    start->fn = fn;
    start->arg = arg;
    pool->running++;
    rc = cio_task_spawn(out, pool_task, start);
    if (rc < 0) {
        free(start);
        pool->running--;
        cio__waitq_wake_one(&pool->slots, 0, NULL);
    }
    return rc;
}

int cio_pool_join(cio_pool_t *pool, int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc < 0)
        return rc;
    while (pool->running > 0) {
        rc = cio__wait_in(&pool->idle, t, NULL, NULL, deadline_ms, "pool join",
                          (long)pool->running);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void cio_pool_free(cio_pool_t *pool)
{
    if (!pool)
        return;
    if (pool->running > 0)
        (void)cio_pool_join(pool, -1);
    cio__waitq_wake_all(&pool->slots, -EPIPE);
    cio__waitq_wake_all(&pool->idle, -EPIPE);
    if (pool->running > 0)
        pool->freed = true; /* the join was cut short: last task frees */
    else
        free(pool);
}

size_t cio_pool_running(const cio_pool_t *pool)
{
    return pool ? pool->running : 0;
}

void cio_pool_set_data(cio_pool_t *pool, void *data)
{
    if (pool)
        pool->user = data;
}

void *cio_pool_data(const cio_pool_t *pool)
{
    return pool ? pool->user : NULL;
}
