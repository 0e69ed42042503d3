/* The timer's layout, private to corio: the loop keeps timers in a heap and
 * the hub embeds one per task (no allocation per wait). Programs get theirs
 * from cio_timer_new. */
#ifndef CIO_LOOP_TIMER_H
#define CIO_LOOP_TIMER_H

#include <stddef.h>
#include <stdint.h>

#include "corio/loop.h"

struct cio_timer {
    cio_timer_cb cb;     /* called when the timer fires */
    void *data;          /* the owner's pointer */
    cio_loop_t *owner;   /* the loop it runs on, bound at creation */
    cio_loop_t *loop;    /* owner while active, NULL when stopped */
    int64_t deadline_ms; /* absolute, on cio_loop_now's clock */
    int64_t repeat_ms;   /* period of a repeating timer, 0 for one-shot */
    uint64_t seq;        /* start order, for FIFO among equal deadlines */
    size_t heap_index;   /* position in the loop's heap */
};

/* Prepares a stopped timer in memory its owner provides. */
void cio__timer_init(cio_timer_t *timer, cio_loop_t *loop, cio_timer_cb cb,
                     void *data);

/* Where loop keeps the time cio_loop_now returns, for the hub, which
 * reads it on every wait: the value moves, the address does not. */
const int64_t *cio__loop_clock(const cio_loop_t *loop);

#endif
