/* Footprints of waiting hub tasks, for the tests that bound them. How many
 * bytes a wait's frames take depends on the compiler, its options and the
 * sanitizers; what the design promises does not: a wait keeps only the
 * frames of the call that waits and its callers (the wait and the switch
 * leave none of their own). So each bound is taken against a baseline
 * measured in the same run, a task parked in cio_task_sleep, the smallest
 * wait; the absolute figures apply only where they were taken. */
#ifndef CIO_TESTS_FOOTPRINT_H
#define CIO_TESTS_FOOTPRINT_H

#include <errno.h>
#include <stddef.h>

#include "check.h"
#include "corio.h"
#include "coro/coro_int.h"
#include "hub/wait.h"

/* Where the figures in the tests' comments were taken: gcc, optimized,
 * x86-64, no sanitizer (which adds redzones or instrumentation frames). */
#if defined(__x86_64__) && defined(__OPTIMIZE__) && !defined(__clang__) &&     \
    !CIO_ASAN && !CIO_TSAN
#define FOOTPRINT_EXACT 1
#else
#define FOOTPRINT_EXACT 0
#endif

/* Bounds against the baseline, which hold with gcc and clang, optimized
 * or not, with or without a sanitizer. Where a wait's switch is a jump
 * (optimized, no TSan: TSan's exit hook follows the switch, which makes
 * it a call), a wait keeps no frame of its own: a task waiting in IO
 * costs less than three parked tasks (2.2 at most seen: clang, a
 * connection's task on the ring), and one waiting the common way (a read
 * that waits, on a readiness backend) keeps the frames of the read and
 * its callers as the parked one keeps those of the sleep: it costs what
 * that one costs, within the difference of their frames (the read's are
 * 32 bytes smaller with gcc and with clang). Elsewhere every wait keeps
 * its frames: less than five parked tasks (4.0 at -O0, 2.75 under TSan). */
#if defined(__OPTIMIZE__) && !CIO_TSAN
#define FOOTPRINT_IO_MAX(base) (3 * (base))
#define FOOTPRINT_READ_MAX(base) ((base) + 64)
#else
#define FOOTPRINT_IO_MAX(base) (5 * (base))
#define FOOTPRINT_READ_MAX(base) FOOTPRINT_IO_MAX(base)
#endif

/* What a waiting task costs: its frames off the stack (in a buffer of
 * their size for a copied task), plus its coroutine and task. */
static inline size_t footprint_of(cio_task_t *t)
{
    CHECK_EQ(t->state, CIO__WAITING);
    CHECK_EQ(cio_coro_shrink(t->coro), 0);
    return cio_coro_footprint(t->coro);
}

static void *footprint_parked(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_task_sleep(-1), -ECANCELED); /* until killed */
    return NULL;
}

/* The baseline: the footprint of a task parked in cio_task_sleep with no
 * deadline, spawned on the running hub (copied or with a stack of its own
 * as that hub spawns them: shrunk, either counts its frames alone). */
static inline size_t footprint_baseline(void)
{
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, footprint_parked, NULL), 0);
    CHECK_EQ(cio_task_sleep(0), 0); /* it runs until it waits */
    size_t fp = footprint_of(t);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    cio_task_free(t);
    return fp;
}

#endif
