/* What the hook tests share: a monotonic clock, socket timeouts, task
 * spawn/join that check their results, and a ticker task whose count shows
 * that other tasks ran while a hooked call waited. */
#ifndef CIO_TESTS_HOOK_UTIL_H
#define CIO_TESTS_HOOK_UTIL_H

#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "check.h"
#include "corio.h"

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Sets SO_RCVTIMEO or SO_SNDTIMEO (opt) on fd to ms milliseconds. */
static inline void set_timeout(int fd, int opt, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    CHECK(setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) == 0);
}

/* Runs fn as a task that the caller later joins; returns it. */
static inline cio_task_t *spawn(cio_task_cb fn, void *arg)
{
    cio_task_t *t;
    CHECK(cio_task_spawn(&t, fn, arg) == 0);
    return t;
}

static inline void join(cio_task_t *t)
{
    CHECK(cio_task_join(t, -1) == 0);
    cio_task_free(t);
}

static int ticks;   /* how often the ticker woke up */
static int ticking; /* cleared to make the ticker return */

static inline void *ticker(void *arg)
{
    (void)arg;
    while (ticking) {
        ticks++;
        cio_task_sleep(5);
    }
    return NULL;
}

static inline void ticker_start(void)
{
    ticks = 0;
    ticking = 1;
    CHECK(cio_task_spawn(NULL, ticker, NULL) == 0);
}

/* Stops the ticker; returns how often it ticked since ticker_start. */
static inline int ticker_stop(void)
{
    ticking = 0;
    return ticks;
}

#endif
