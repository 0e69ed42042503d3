/* Queues of pointers between tasks of one hub. Items go straight to a
 * waiting getter when there is one, and a waiting putter's item goes
 * straight into the buffer when a get makes room, so no woken task ever has
 * to race for what it was woken for. */
#include <errno.h>
#include <stdlib.h>

#include "common/ring.h"
#include "corio/sync.h"
#include "hub/wait.h"

struct cio_queue {
    struct cio__ring items;    /* the items, oldest first */
    size_t limit;              /* capacity asked for, 0 = unbounded */
    bool closed;               /* puts refused, gets drain then -EPIPE */
    struct cio__waitq getters; /* tasks waiting for an item */
    struct cio__waitq putters; /* tasks waiting for room (value = item) */
    void *user;                /* the program's pointer (cio_queue_set_data) */
};

int cio_queue_new(cio_queue_t **out, size_t capacity)
{
    cio_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->limit = capacity;
    if (cio__ring_reserve(&q->items, capacity ? capacity : 16) < 0) {
        free(q);
        return -ENOMEM;
    }
    *out = q;
    return 0;
}

void cio_queue_free(cio_queue_t *q)
{
    if (!q)
        return;
    cio__waitq_wake_all(&q->getters, -EPIPE);
    cio__waitq_wake_all(&q->putters, -EPIPE);
    cio__ring_free(&q->items);
    free(q);
}

/* Like cio__enter, but a caller outside any task (a loop callback) may
 * still put and get when that needs no wait: *t is then NULL. */
static int q_enter(cio_task_t **t)
{
    int rc = cio__enter(t);
    return rc == -EPERM ? 0 : rc;
}

int cio_queue_put(cio_queue_t *q, void *item, int64_t deadline_ms)
{
    if (!q)
        return -EINVAL;
    cio_task_t *t;
    int rc = q_enter(&t);
    if (rc < 0)
        return rc;
    if (q->closed)
        return -EPIPE;
    if (cio__waitq_wake_one(&q->getters, 0, item))
        return 0;
    if (!q->limit || cio__ring_len(&q->items) < q->limit) {
        if (cio__ring_reserve(&q->items, cio__ring_len(&q->items) + 1) < 0)
            return -ENOMEM;
        cio__ring_push(&q->items, item);
        return 0;
    }
    if (!t)
        return -EAGAIN;
    return cio__wait_in(&q->putters, t, item, NULL, deadline_ms, "queue put",
                        (long)cio__ring_len(&q->items));
}

int cio_queue_get(cio_queue_t *q, void **item, int64_t deadline_ms)
{
    if (!q || !item)
        return -EINVAL;
    cio_task_t *t;
    int rc = q_enter(&t);
    if (rc < 0)
        return rc;
    if (cio__ring_len(&q->items) > 0) {
        *item = cio__ring_pop(&q->items);
        /* Room now: the oldest waiting putter's item moves in. */
        struct cio__waiter *w;
        while ((w = cio__waitq_pop(&q->putters)) != NULL) {
            if (w->task->state == CIO__WAITING) {
                cio__ring_push(&q->items, w->value);
                cio__wake(w->task, 0);
                break;
            }
        }
        return 0;
    }
    if (q->closed)
        return -EPIPE;
    if (!t)
        return -EAGAIN;
    void *got = NULL;
    rc = cio__wait_in(&q->getters, t, NULL, &got, deadline_ms, "queue get", 0);
    if (rc == 0)
        *item = got;
    return rc;
}

void cio_queue_close(cio_queue_t *q)
{
    if (!q || q->closed)
        return;
    q->closed = true;
    cio__waitq_wake_all(&q->getters, -EPIPE);
    cio__waitq_wake_all(&q->putters, -EPIPE);
}

size_t cio_queue_len(const cio_queue_t *q)
{
    return q ? cio__ring_len(&q->items) : 0;
}

void cio_queue_set_data(cio_queue_t *q, void *data)
{
    if (q)
        q->user = data;
}

void *cio_queue_data(const cio_queue_t *q)
{
    return q ? q->user : NULL;
}
