/* Private: the ring buffer of pointers behind the hub's run queue, the
 * task queue (cio_queue_t) and the cross-thread channel (cio_chan_t): a
 * FIFO in an array whose size is a power of two, so an index wraps with a
 * mask. A zeroed ring is empty and has no room; cio__ring_reserve makes
 * some. Pushing needs room: callers reserve first (the run queue keeps room
 * for every live task, so that a wake never allocates). */
#ifndef CIO_COMMON_RING_H
#define CIO_COMMON_RING_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

struct cio__ring {
    void **slots; /* cap entries */
    size_t cap;   /* a power of two, or 0 */
    size_t head;  /* index of the oldest item */
    size_t len;   /* items held */
};

/* The i-th oldest item (i < len). */
static inline void *cio__ring_at(const struct cio__ring *r, size_t i)
{
    return r->slots[(r->head + i) & (r->cap - 1)];
}

/* The oldest item, without taking it off; the ring must not be empty. */
static inline void *cio__ring_first(const struct cio__ring *r)
{
    return r->slots[r->head];
}

/* Appends item; there must be room (len < cap). */
static inline void cio__ring_push(struct cio__ring *r, void *item)
{
    r->slots[(r->head + r->len++) & (r->cap - 1)] = item;
}

/* Takes the oldest item off; the ring must not be empty. */
static inline void *cio__ring_pop(struct cio__ring *r)
{
    void *item = cio__ring_first(r);
    r->head = (r->head + 1) & (r->cap - 1);
    r->len--;
    return item;
}

/* Makes room for n items in all (at least 16 slots): 0 or -ENOMEM, when
 * the ring is left as it was. */
static inline int cio__ring_reserve(struct cio__ring *r, size_t n)
{
    if (n <= r->cap)
        return 0;
    if (n > ((size_t)-1 / 2) / sizeof(void *))
        return -ENOMEM; /* the doubling below would overflow */
    size_t cap = r->cap ? r->cap * 2 : 16;
    while (cap < n)
        cap *= 2;
    void **slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < r->len; i++)
        slots[i] = cio__ring_at(r, i);
    free(r->slots);
    r->slots = slots;
    r->cap = cap;
    r->head = 0;
    return 0;
}

/* Frees the slots; the ring is empty and zeroed again. */
static inline void cio__ring_free(struct cio__ring *r)
{
    free(r->slots);
    r->slots = NULL;
    r->cap = r->head = r->len = 0;
}

#endif
