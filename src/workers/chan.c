/* The cross-thread channel: a mutex-guarded ring of pointers. Receiving
 * tasks park on a hub event; a sender wakes them with one cio_loop_post per
 * park (not per item), so a busy receiver that never parks costs senders
 * only the mutex. Plain-thread receivers wait on a condition variable. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/ring.h"
#include "corio/hub.h"
#include "corio/loop.h"
#include "corio/sync.h"
#include "corio/workers.h"
#include "workers-int.h"

struct cio_chan {
    pthread_mutex_t mu;     /* guards everything below */
    pthread_cond_t cond;    /* plain-thread receivers wait here */
    struct cio__ring items; /* the items, oldest first */
    size_t limit;           /* capacity, 0 = unbounded */
    bool closed;            /* no more sends */
    cio_loop_t *loop;       /* hub loop of the receiving tasks, NULL if none
                               has received yet */
    cio_event_t *ev;        /* parked tasks wait on it (a hub object of loop) */
    unsigned task_waiters;  /* tasks parked on ev */
    unsigned thread_waiters; /* threads waiting on cond */
    bool wake_pending;       /* a wake post to loop is queued */
    unsigned refs;           /* 1 for the owner + 1 per queued wake post */
    void *user;              /* the program's pointer (cio_chan_set_data) */
};

int cio_chan_new(cio_chan_t **out, size_t capacity)
{
    cio_chan_t *ch = calloc(1, sizeof(*ch));
    if (!ch)
        return -ENOMEM;
    ch->limit = capacity;
    pthread_condattr_t attr;
    if (cio__ring_reserve(&ch->items, capacity ? capacity : 16) < 0 ||
        pthread_condattr_init(&attr) != 0) {
        cio__ring_free(&ch->items);
        free(ch);
        return -ENOMEM;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ch->cond, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&ch->mu, NULL);
    ch->refs = 1;
    *out = ch;
    return 0;
}

static void chan_destroy(cio_chan_t *ch)
{
    if (ch->ev)
        cio_event_free(ch->ev);
    pthread_cond_destroy(&ch->cond);
    pthread_mutex_destroy(&ch->mu);
    cio__ring_free(&ch->items);
    free(ch);
}

/* Drops a reference taken under the lock; frees the channel on the last. */
static void chan_unref_locked(cio_chan_t *ch)
{
    bool last = --ch->refs == 0;
    pthread_mutex_unlock(&ch->mu);
    if (last)
        chan_destroy(ch);
}

void cio_chan_free(cio_chan_t *ch)
{
    if (!ch)
        return;
    pthread_mutex_lock(&ch->mu);
    chan_unref_locked(ch);
}

/* Runs on the receivers' hub thread: wakes every parked task. */
static void chan_wake(cio_loop_t *loop, void *data)
{
    (void)loop;
    cio_chan_t *ch = data;
    pthread_mutex_lock(&ch->mu);
    ch->wake_pending = false;
    if (ch->refs > 1)
        cio_event_set(ch->ev);
    chan_unref_locked(ch);
}

/* Called with the lock held after the queue or closed flag changed: wakes
 * waiting threads, and waiting tasks through one post. Unlocks. */
static void chan_notify_unlock(cio_chan_t *ch)
{
    if (ch->thread_waiters)
        pthread_cond_broadcast(&ch->cond);
    if (!ch->task_waiters || ch->wake_pending) {
        pthread_mutex_unlock(&ch->mu);
        return;
    }
    if (cio_hub_loop() == ch->loop) {
        /* Sent from the receivers' own hub: no post needed, they cannot
         * run until this task switches away. */
        cio_event_set(ch->ev);
        pthread_mutex_unlock(&ch->mu);
        return;
    }
    ch->wake_pending = true;
    ch->refs++;
    cio_loop_t *loop = ch->loop;
    pthread_mutex_unlock(&ch->mu);
    if (cio_loop_post(loop, chan_wake, ch) < 0) {
        /* Out of memory: the item stays queued and a parked task finds it
         * at its next check. */
        pthread_mutex_lock(&ch->mu);
        ch->wake_pending = false;
        chan_unref_locked(ch);
    }
}

int cio_chan_send(cio_chan_t *ch, void *item)
{
    pthread_mutex_lock(&ch->mu);
    int r = 0;
    if (ch->closed)
        r = -EPIPE;
    else if (ch->limit && cio__ring_len(&ch->items) == ch->limit)
        r = -EAGAIN;
    else
        r = cio__ring_reserve(&ch->items, cio__ring_len(&ch->items) + 1);
    if (r < 0) {
        pthread_mutex_unlock(&ch->mu);
        return r;
    }
    cio__ring_push(&ch->items, item);
    chan_notify_unlock(ch);
    return 0;
}

void cio_chan_close(cio_chan_t *ch)
{
    pthread_mutex_lock(&ch->mu);
    ch->closed = true;
    chan_notify_unlock(ch);
}

size_t cio_chan_len(cio_chan_t *ch)
{
    pthread_mutex_lock(&ch->mu);
    size_t len = cio__ring_len(&ch->items);
    pthread_mutex_unlock(&ch->mu);
    return len;
}

/* With the lock held: takes the oldest item, or says why not. */
static int chan_take(cio_chan_t *ch, void **item)
{
    if (cio__ring_len(&ch->items) == 0)
        return ch->closed ? -EPIPE : -EAGAIN;
    *item = cio__ring_pop(&ch->items);
    return 0;
}

static int chan_recv_thread(cio_chan_t *ch, void **item, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (deadline_ms % 1000) * 1000000};
    pthread_mutex_lock(&ch->mu);
    int r;
    while ((r = chan_take(ch, item)) == -EAGAIN) {
        if (deadline_ms == 0) {
            r = -ETIMEDOUT;
            break;
        }
        ch->thread_waiters++;
        int w = deadline_ms < 0
                    ? pthread_cond_wait(&ch->cond, &ch->mu)
                    : pthread_cond_timedwait(&ch->cond, &ch->mu, &ts);
        ch->thread_waiters--;
        if (w == ETIMEDOUT) {
            r = chan_take(ch, item);
            if (r == -EAGAIN)
                r = -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&ch->mu);
    return r;
}

/* With the lock held: makes the calling hub the receiving one. Another hub
 * may take over once no task of the previous one is parked and no wake is
 * on its way there (the event itself belongs to no hub). */
static int chan_bind_hub(cio_chan_t *ch)
{
    cio_loop_t *loop = cio_hub_loop();
    if (ch->loop == loop)
        return 0;
    if (ch->task_waiters || ch->wake_pending)
        return -EXDEV;
    if (!ch->ev) {
        int r = cio_event_new(&ch->ev);
        if (r < 0)
            return r;
    }
    ch->loop = loop;
    return 0;
}

int cio_chan_recv(cio_chan_t *ch, void **item, int64_t deadline_ms)
{
    if (!cio_task_self())
        return chan_recv_thread(ch, item, deadline_ms);
    pthread_mutex_lock(&ch->mu);
    int r;
    while ((r = chan_take(ch, item)) == -EAGAIN) {
        r = deadline_ms == 0 ? -ETIMEDOUT : chan_bind_hub(ch);
        if (r < 0)
            break;
        ch->task_waiters++;
        pthread_mutex_unlock(&ch->mu);
        /* Clearing is safe: a wake for this park can only run once this
         * task has switched to the hub, which happens inside the wait. */
        cio_event_clear(ch->ev);
        /* A sender on another thread can wake this task, which the hub
         * cannot see: the ref keeps it from calling the wait a deadlock. */
        cio_hub_ref();
        int w = cio_event_wait(ch->ev, deadline_ms);
        cio_hub_unref();
        pthread_mutex_lock(&ch->mu);
        ch->task_waiters--;
        if (w < 0) {
            r = chan_take(ch, item);
            if (r == -EAGAIN || w != -ETIMEDOUT)
                r = r == 0 ? 0 : w;
            break;
        }
    }
    pthread_mutex_unlock(&ch->mu);
    return r;
}

void cio_chan_set_data(cio_chan_t *ch, void *data)
{
    if (ch)
        ch->user = data;
}

void *cio_chan_data(const cio_chan_t *ch)
{
    return ch ? ch->user : NULL;
}
