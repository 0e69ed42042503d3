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
    void **slots; /* mask + 1 entries, or NULL */
    size_t mask;  /* entries - 1: a power of two less one */
    size_t head;  /* count of items ever taken off: the oldest's index */
    size_t tail;  /* count of items ever put on */
};

/* Items held. The counts wrap together: their difference stays right. */
static inline size_t cio__ring_len(const struct cio__ring *r)
{
    return r->tail - r->head;
}

/* The i-th oldest item (i < len). */
static inline void *cio__ring_at(const struct cio__ring *r, size_t i)
{
    return r->slots[(r->head + i) & r->mask];
}

/* The oldest item, without taking it off; the ring must not be empty. */
static inline void *cio__ring_first(const struct cio__ring *r)
{
    return r->slots[r->head & r->mask];
}

/* Appends item; there must be room (len < entries). */
static inline void cio__ring_push(struct cio__ring *r, void *item)
{
    r->slots[r->tail++ & r->mask] = item;
}

/* Takes the oldest item off; the ring must not be empty. */
static inline void *cio__ring_pop(struct cio__ring *r)
{
    return r->slots[r->head++ & r->mask];
}

/* Makes room for n items in all (at least 16 slots): 0 or -ENOMEM, when
 * the ring is left as it was. */
static inline int cio__ring_reserve(struct cio__ring *r, size_t n)
{
    size_t cap = r->slots ? r->mask + 1 : 0;
    if (n <= cap)
        return 0;
    if (n > ((size_t)-1 / 2) / sizeof(void *))
        return -ENOMEM; /* the doubling below would overflow */
    cap = cap ? cap * 2 : 16;
    while (cap < n)
        cap *= 2;
    void **slots = malloc(cap * sizeof *slots);
    if (!slots)
        return -ENOMEM;
    size_t len = cio__ring_len(r);
    for (size_t i = 0; i < len; i++)
        slots[i] = cio__ring_at(r, i);
    free(r->slots);
    r->slots = slots;
    r->mask = cap - 1;
    r->head = 0;
    r->tail = len;
    return 0;
}

/* Frees the slots; the ring is empty and zeroed again. */
static inline void cio__ring_free(struct cio__ring *r)
{
    free(r->slots);
    r->slots = NULL;
    r->mask = r->head = r->tail = 0;
}

#endif
