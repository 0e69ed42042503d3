/* Timers: a binary min-heap on (deadline_ms, seq), so timers with equal
 * deadlines fire in the order they were started. The heap holds pointers
 * to timers the user owns; each timer knows its index for O(log n) stop. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "loop/loop-int.h"
#include "loop/timer.h"

static bool timer_before(const cio_timer_t *a, const cio_timer_t *b)
{
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms;
    return a->seq < b->seq;
}

static void heap_place(cio_loop_t *loop, size_t i, cio_timer_t *t)
{
    loop->heap[i] = t;
    t->heap_index = i;
}

static void sift_up(cio_loop_t *loop, size_t i)
{
    cio_timer_t *t = loop->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_before(t, loop->heap[parent]))
            break;
        heap_place(loop, i, loop->heap[parent]);
        i = parent;
    }
    heap_place(loop, i, t);
}

static void sift_down(cio_loop_t *loop, size_t i)
{
    cio_timer_t *t = loop->heap[i];
    size_t n = loop->heap_len;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n &&
            timer_before(loop->heap[child + 1], loop->heap[child]))
            child++;
        if (!timer_before(loop->heap[child], t))
            break;
        heap_place(loop, i, loop->heap[child]);
        i = child;
    }
    heap_place(loop, i, t);
}

static void heap_remove(cio_loop_t *loop, cio_timer_t *t)
{
    size_t i = t->heap_index;
    cio_timer_t *last = loop->heap[--loop->heap_len];
    if (last != t) {
        heap_place(loop, i, last);
        if (i > 0 && timer_before(last, loop->heap[(i - 1) / 2]))
            sift_up(loop, i);
        else
            sift_down(loop, i);
    }
    t->loop = NULL;
}

static int heap_insert(cio_loop_t *loop, cio_timer_t *t)
{
    if (loop->heap_len == loop->heap_cap) {
        size_t cap = loop->heap_cap ? loop->heap_cap * 2 : 16;
        cio_timer_t **heap = realloc(loop->heap, cap * sizeof(*heap));
        if (heap == NULL)
            return -ENOMEM;
        loop->heap = heap;
        loop->heap_cap = cap;
    }
    t->loop = loop;
    t->seq = loop->timer_seq++;
    loop->heap[loop->heap_len++] = t;
    sift_up(loop, loop->heap_len - 1);
    return 0;
}

void cio__timer_init(cio_timer_t *timer, cio_loop_t *loop, cio_timer_cb cb,
                     void *data)
{
    *timer = (cio_timer_t){.cb = cb, .data = data, .owner = loop};
}

int cio_timer_new(cio_timer_t **out, cio_loop_t *loop, cio_timer_cb cb,
                  void *data)
{
    if (!out || !loop || !cb)
        return -EINVAL;
    *out = malloc(sizeof **out);
    if (!*out)
        return -ENOMEM;
    cio__timer_init(*out, loop, cb, data);
    return 0;
}

void cio_timer_free(cio_timer_t *timer)
{
    if (!timer)
        return;
    cio_timer_stop(timer);
    free(timer);
}

static int timer_start(cio_timer_t *timer, int64_t deadline_ms,
                       int64_t repeat_ms)
{
    if (timer->loop != NULL)
        heap_remove(timer->loop, timer);
    timer->deadline_ms = deadline_ms;
    timer->repeat_ms = repeat_ms > 0 ? repeat_ms : 0;
    return heap_insert(timer->owner, timer);
}

int cio_timer_start(cio_timer_t *timer, int64_t timeout_ms, int64_t repeat_ms)
{
    if (!timer)
        return -EINVAL;
    if (timeout_ms < 0)
        timeout_ms = 0;
    return timer_start(timer, timer->owner->now_ms + timeout_ms, repeat_ms);
}

int cio_timer_start_at(cio_timer_t *timer, int64_t deadline_ms)
{
    if (!timer)
        return -EINVAL;
    return timer_start(timer, deadline_ms, 0);
}

void cio_timer_stop(cio_timer_t *timer)
{
    if (timer && timer->loop != NULL)
        heap_remove(timer->loop, timer);
}

bool cio_timer_active(const cio_timer_t *timer)
{
    return timer && timer->loop != NULL;
}

void cio_timer_set_data(cio_timer_t *timer, void *data)
{
    if (timer)
        timer->data = data;
}

void *cio_timer_data(const cio_timer_t *timer)
{
    return timer ? timer->data : NULL;
}

/* Milliseconds until the earliest deadline: -1 without timers. */
int cio__timers_timeout(cio_loop_t *loop)
{
    if (loop->heap_len == 0)
        return -1;
    int64_t wait = loop->heap[0]->deadline_ms - loop->now_ms;
    if (wait <= 0)
        return 0;
    return wait > INT_MAX ? INT_MAX : (int)wait;
}

/* Fires the timers due at the cached time. Timers started during this
 * phase (new seq) wait for the next iteration, so a callback restarting
 * its timer with 0 cannot keep the phase running forever. */
void cio__timers_run(cio_loop_t *loop)
{
    uint64_t limit = loop->timer_seq;
    while (loop->heap_len > 0) {
        cio_timer_t *t = loop->heap[0];
        if (t->deadline_ms > loop->now_ms || t->seq >= limit)
            break;
        heap_remove(loop, t);
        if (t->repeat_ms > 0) {
            int64_t next = t->deadline_ms + t->repeat_ms;
            if (next <= loop->now_ms) /* fell behind: skip missed periods */
                next = loop->now_ms + t->repeat_ms;
            t->deadline_ms = next;
            if (heap_insert(loop, t) < 0)
                t->loop = NULL; /* cannot happen: the slot was just freed */
        }
        t->cb(t);
    }
}

void cio__timers_free(cio_loop_t *loop)
{
    for (size_t i = 0; i < loop->heap_len; i++)
        loop->heap[i]->loop = NULL;
    free(loop->heap);
    loop->heap = NULL;
    loop->heap_len = loop->heap_cap = 0;
}

const int64_t *cio__loop_clock(const cio_loop_t *loop)
{
    return &loop->now_ms;
}
