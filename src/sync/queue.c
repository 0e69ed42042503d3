/* Queues of pointers between tasks of one hub. Items go straight to a
 * waiting getter when there is one, and a waiting putter's item goes
 * straight into the buffer when a get makes room, so no woken task ever has
 * to race for what it was woken for. */
#include <errno.h>
#include <stdlib.h>

#include "corio/sync.h"
#include "hub/wait.h"

struct cio_queue {
    void **ring;               /* circular buffer of items */
    size_t cap;                /* slots in ring */
    size_t head;               /* index of the oldest item */
    size_t len;                /* items in ring */
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
    q->cap = capacity ? capacity : 16;
    q->ring = malloc(q->cap * sizeof *q->ring);
    if (!q->ring) {
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
    free(q->ring);
    free(q);
}

static int grow(cio_queue_t *q)
{
    size_t cap = q->cap * 2;
    void **ring = malloc(cap * sizeof *ring);
    if (!ring)
        return -ENOMEM;
    for (size_t i = 0; i < q->len; i++)
        ring[i] = q->ring[(q->head + i) % q->cap];
    free(q->ring);
    q->ring = ring;
    q->cap = cap;
    q->head = 0;
    return 0;
}

/* Like cio__enter, but a caller outside any task (a loop callback) may
 * still put and get when that needs no wait: *t is then NULL. */
static int q_enter(cio_task_t **t)
{
    int rc = cio__enter(t);
    return rc == -EPERM ? 0 : rc;
}

static void push_item(cio_queue_t *q, void *item)
{
    q->ring[(q->head + q->len) % q->cap] = item;
    q->len++;
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
    if (!q->limit || q->len < q->limit) {
        if (q->len == q->cap && grow(q) < 0)
            return -ENOMEM;
        push_item(q, item);
        return 0;
    }
    if (!t)
        return -EAGAIN;
    return cio__wait_in(&q->putters, t, item, NULL, deadline_ms, "queue put",
                        (long)q->len);
}

int cio_queue_get(cio_queue_t *q, void **item, int64_t deadline_ms)
{
    if (!q || !item)
        return -EINVAL;
    cio_task_t *t;
    int rc = q_enter(&t);
    if (rc < 0)
        return rc;
    if (q->len > 0) {
        *item = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
        /* Room now: the oldest waiting putter's item moves in. */
        struct cio__waiter *w;
        while ((w = cio__waitq_pop(&q->putters)) != NULL) {
            if (w->task->state == CIO__WAITING) {
                push_item(q, w->value);
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
    return q ? q->len : 0;
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
