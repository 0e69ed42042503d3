/* The loop: the fd registry, dispatch of fired events, and the run modes.
 *
 * Phase order of one iteration (cio_loop_run):
 *   1. timeout: 0 for NOWAIT or after a stop, else until the earliest timer
 *      (-1 without timers);
 *   2. backend poll, which fills loop->fired;
 *   3. the cached clock is read once;
 *   4. IO callbacks, in the order reported (posts and signals arrive here
 *      through their own fds); right before its callback, each report is
 *      checked against the slot: still registered, not re-registered since
 *      the poll (the slot's registration iteration acts as a generation),
 *      and masked by the current interest;
 *   5. timers due at the cached time, in (deadline, start order) order.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "loop/loop-int.h"
#include "loop/uring.h"

static const cio__backend_ops_t *backend_by_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return &cio__backend_epoll;
    if (strcmp(name, "epoll") == 0)
        return &cio__backend_epoll;
    if (strcmp(name, "poll") == 0)
        return &cio__backend_poll;
    if (strcmp(name, "select") == 0)
        return &cio__backend_select;
    if (strcmp(name, "uring") == 0)
        return &cio__backend_uring;
    return NULL;
}

/* Asked for io_uring where it cannot run (no liburing at build time, a
 * kernel or sandbox without it, a feature missing): epoll serves instead,
 * said once per process. */
static void uring_fallback(int err)
{
    static atomic_flag said = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&said))
        fprintf(stderr, "corio: io_uring unavailable (%s); using epoll\n",
                err == -ENOTSUP ? "a needed feature is missing"
                                : strerror(-err));
}

int64_t cio_loop_update_time(cio_loop_t *loop)
{
    loop->now_ms = cio__mono_ms();
    return loop->now_ms;
}

int64_t cio_loop_now(const cio_loop_t *loop)
{
    return loop->now_ms;
}

int cio_loop_new(cio_loop_t **out, const char *backend)
{
    *out = NULL;
    if (backend == NULL)
        backend = getenv("CIO_BACKEND");
    const cio__backend_ops_t *ops = backend_by_name(backend);
    if (ops == NULL)
        return -EINVAL;
    cio_loop_t *loop = calloc(1, sizeof(*loop));
    if (loop == NULL)
        return -ENOMEM;
    loop->ops = ops;
    loop->post_fd = -1;
    loop->signal_fd = -1;
    sigemptyset(&loop->signal_set);
    sigemptyset(&loop->signal_was_blocked);
    cio_loop_update_time(loop);
    int rc = ops->init(&loop->backend);
    if (rc < 0 && ops == &cio__backend_uring && rc != -ENOMEM) {
        uring_fallback(rc);
        loop->ops = ops = &cio__backend_epoll;
        rc = ops->init(&loop->backend);
    }
    if (rc < 0) {
        free(loop);
        return rc;
    }
    rc = cio__posts_init(loop);
    if (rc < 0) {
        cio_loop_free(loop);
        return rc;
    }
    *out = loop;
    return 0;
}

void cio_loop_free(cio_loop_t *loop)
{
    if (loop == NULL)
        return;
    cio__signals_free(loop);
    cio__posts_free(loop);
    cio__timers_free(loop);
    if (loop->backend != NULL)
        loop->ops->free(loop->backend);
    free(loop->slots);
    free(loop->fired);
    free(loop);
}

const char *cio_loop_backend(const cio_loop_t *loop)
{
    return loop->ops->name;
}

/* Grows the registry (and the fired array with it) to hold fd. */
static int slots_reserve(cio_loop_t *loop, int fd)
{
    if (fd < loop->slots_cap)
        return 0;
    int cap = loop->slots_cap ? loop->slots_cap : 64;
    while (cap <= fd) {
        if (cap > INT_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    cio__io_slot_t *slots = realloc(loop->slots, (size_t)cap * sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    memset(slots + loop->slots_cap, 0,
           (size_t)(cap - loop->slots_cap) * sizeof(*slots));
    loop->slots = slots;
    loop->slots_cap = cap;
    return 0;
}

/* Sets a slot's interest and what its reports may deliver with it. */
static void slot_set_events(cio__io_slot_t *slot, int events)
{
    slot->events = (uint8_t)events;
    slot->deliver = (uint8_t)(events ? events | CIO_ERROR : 0);
}

static int do_register(cio_loop_t *loop, int fd, int events, cio_io_cb cb,
                       void *data, int internal)
{
    if (fd < 0 || cb == NULL || (events & ~(CIO_READABLE | CIO_WRITABLE)))
        return -EINVAL;
    if (loop->ops->fd_limit > 0 && fd >= loop->ops->fd_limit)
        return -EINVAL; /* even idle: it could not be woken later */
    if (fd < loop->slots_cap && loop->slots[fd].cb != NULL)
        return -EEXIST;
    int rc = slots_reserve(loop, fd);
    if (rc < 0)
        return rc;
    if (events != 0) {
        rc = loop->ops->set(loop->backend, fd, 0, events);
        if (rc < 0)
            return rc;
    }
    cio__io_slot_t *slot = &loop->slots[fd];
    slot->cb = cb;
    slot->data = data;
    slot->since = loop->iteration;
    slot_set_events(slot, events);
    slot->internal = (uint8_t)internal;
    if (events != 0 && !internal)
        loop->active_fds++;
    return 0;
}

int cio_loop_register(cio_loop_t *loop, int fd, int events, cio_io_cb cb,
                      void *data)
{
    return do_register(loop, fd, events, cb, data, 0);
}

int cio__loop_register_internal(cio_loop_t *loop, int fd, cio_io_cb cb,
                                void *data)
{
    return do_register(loop, fd, CIO_READABLE, cb, data, 1);
}

/* cio_loop_modify past its check for an unchanged interest. */
static __attribute__((noinline)) int modify(cio_loop_t *loop, int fd,
                                            int events)
{
    if ((unsigned)fd >= (unsigned)loop->slots_cap)
        return -ENOENT;
    cio__io_slot_t *slot = &loop->slots[fd];
    if (slot->cb == NULL)
        return -ENOENT;
    if (events & ~(CIO_READABLE | CIO_WRITABLE))
        return -EINVAL;
    int old = slot->events;
    int rc = loop->ops->set(loop->backend, fd, old, events);
    if (rc < 0)
        return rc;
    slot_set_events(slot, events);
    if (!slot->internal)
        loop->active_fds += (events != 0) - (old != 0);
    return 0;
}

int cio_loop_modify(cio_loop_t *loop, int fd, int events)
{
    /* The hub changes interest lazily, and callers often ask for what is
     * there already: that check stays apart from the rest, with no frame. */
    if ((unsigned)fd < (unsigned)loop->slots_cap) {
        const cio__io_slot_t *slot = &loop->slots[fd];
        if (slot->events == events && slot->cb != NULL)
            return 0;
    }
    return modify(loop, fd, events);
}

int cio_loop_unregister(cio_loop_t *loop, int fd)
{
    if (fd < 0 || fd >= loop->slots_cap || loop->slots[fd].cb == NULL)
        return -ENOENT;
    cio__io_slot_t *slot = &loop->slots[fd];
    if (slot->events != 0) {
        /* The fd may already be closed: the registration goes anyway. */
        (void)loop->ops->set(loop->backend, fd, slot->events, 0);
        if (!slot->internal)
            loop->active_fds--;
    }
#ifdef CIO_HAVE_URING
    /* Even with no interest left: a poll removed when the interest dropped
     * to 0 may still hold the file. */
    if (loop->ops == &cio__backend_uring)
        cio__uring_unregistered(loop->backend);
#endif
    slot->cb = NULL;
    slot->data = NULL;
    slot_set_events(slot, 0);
    return 0;
}

void cio_loop_stop(cio_loop_t *loop)
{
    loop->stop = 1;
}

void cio_loop_ref(cio_loop_t *loop)
{
    loop->refs++;
}

void cio_loop_unref(cio_loop_t *loop)
{
    if (loop->refs > 0)
        loop->refs--;
}

void cio_loop_set_data(cio_loop_t *loop, void *data)
{
    loop->user_data = data;
}

void *cio_loop_data(const cio_loop_t *loop)
{
    return loop->user_data;
}

static int loop_alive(const cio_loop_t *loop)
{
    return loop->active_fds > 0 || loop->heap_len > 0 || loop->refs > 0 ||
           atomic_load_explicit(&loop->post_pending, memory_order_acquire) > 0;
}

/* poll(2) bits of a report that mean an error or a hang-up. */
#define FIRED_ERROR (POLLERR | POLLHUP | POLLNVAL)

/* A report's poll(2) bits as CIO_* ones, by table: one load, no branch.
 * An error or a hang-up maps to every bit, so that masking it with a
 * slot's deliver gives CIO_ERROR with all the interest (the reader or the
 * writer sees it) and nothing without interest. Every bit it reads is
 * below 64; the others (POLLPRI, POLLRDNORM...) are ignored. */
_Static_assert((POLLIN | POLLOUT | FIRED_ERROR) < 64, "poll(2) bits moved");
#define FIRED_BITS(e)                                                          \
    (((e)&FIRED_ERROR) ? CIO_READABLE | CIO_WRITABLE | CIO_ERROR               \
                       : (((e)&POLLIN) ? CIO_READABLE : 0) |                   \
                             (((e)&POLLOUT) ? CIO_WRITABLE : 0))
#define FIRED_BITS4(e)                                                         \
    FIRED_BITS(e), FIRED_BITS(e + 1), FIRED_BITS(e + 2), FIRED_BITS(e + 3)
#define FIRED_BITS16(e)                                                        \
    FIRED_BITS4(e), FIRED_BITS4(e + 4), FIRED_BITS4(e + 8), FIRED_BITS4(e + 12)
static const unsigned fired_bits[64] = {FIRED_BITS16(0), FIRED_BITS16(16),
                                        FIRED_BITS16(32), FIRED_BITS16(48)};

/* Delivers the fired reports, each checked right before its callback,
 * since earlier callbacks may have unregistered or replaced its fd (or
 * grown slots: it is reread after each). The fired array and the iteration
 * stay as they are: callbacks cannot poll (cio_loop_run is not reentrant).
 * A report is dropped when its slot has no interest (a free one has none)
 * or was registered after the poll; an error or hang-up is reported with
 * every bit of interest, so that the reader or the writer sees it. */
static __attribute__((noinline)) void dispatch(cio_loop_t *loop, int nfired)
{
    const cio__fired_t *f = loop->fired, *end = f + nfired;
    const uint64_t iteration = loop->iteration;
    for (; f != end; f++) {
        unsigned fd = (unsigned)f->data.fd;
        if (__builtin_expect(fd >= (unsigned)loop->slots_cap, 0))
            continue;
        cio__io_slot_t *slot = &loop->slots[fd];
        /* No interest (a free slot has none) or none of it fired: 0. */
        int events = fired_bits[f->events & 63] & slot->deliver;
        if (__builtin_expect(events == 0 || slot->since == iteration, 0))
            continue; /* registered after this poll: the report is older */
        slot->cb(loop, (int)fd, events, slot->data);
    }
}

static int iterate(cio_loop_t *loop, int timeout_ms)
{
    if (loop->fired_cap < loop->slots_cap) {
        cio__fired_t *fired =
            realloc(loop->fired, (size_t)loop->slots_cap * sizeof(*fired));
        if (fired == NULL)
            return -ENOMEM;
        loop->fired = fired;
        loop->fired_cap = loop->slots_cap;
    }
    /* The post eventfd is always registered, so fired_cap > 0. */
    int n = loop->ops->poll(loop->backend, timeout_ms, loop->fired,
                            loop->fired_cap);
    cio_loop_update_time(loop);
    if (n == -EINTR)
        n = 0;
    if (n < 0)
        return n;
    /* Registrations made from now on (by callbacks) postdate this poll:
     * its reports for their fd number belong to an older registration. */
    loop->iteration++;
    if (n > 0)
        dispatch(loop, n); /* apart: no reports, no frame of its own */
    cio__timers_run(loop);
    return 0;
}

int cio_loop_run(cio_loop_t *loop, cio_run_mode_t mode)
{
    if (loop->running)
        return -EBUSY;
    loop->running = 1;
    int rc = 0;
    cio_loop_update_time(loop);
    for (;;) {
        int alive = loop_alive(loop);
        if (loop->stop || (mode == CIO_RUN_DEFAULT && !alive))
            break;
        int timeout = 0;
        if (mode != CIO_RUN_NOWAIT && alive)
            timeout = cio__timers_timeout(loop);
        rc = iterate(loop, timeout);
        if (rc < 0 || mode != CIO_RUN_DEFAULT)
            break;
    }
    if (rc == 0 && mode != CIO_RUN_DEFAULT && !loop->stop)
        rc = loop_alive(loop);
    loop->stop = 0;
    loop->running = 0;
    return rc;
}
