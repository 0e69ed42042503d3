/* sleep, usleep, nanosleep and clock_nanosleep for tasks: cio_task_sleep on the
 * hub's millisecond clock, rounded up (a sleep is never shorter than
 * asked). A sleep of zero yields to the other ready tasks. A wake-up by
 * cio_task_interrupt is EINTR with the time left reported, as a signal would
 * be; after cio_task_kill, ECANCELED. */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "corio/hub.h"
#include "hook.h"

/* Sleeps ms (>= 0); 0 or a negative errno, *left_ms the time not slept. */
static int task_sleep(int64_t ms, int64_t *left_ms)
{
    int64_t deadline = cio_deadline_in(ms);
    int rc = ms == 0 ? cio_task_sleep(0) : cio_task_sleep_until(deadline);
    int64_t left = rc < 0 ? deadline - cio_hub_now() : 0;
    *left_ms = left > 0 ? left : 0;
    return rc;
}

static int64_t ms_of_timespec(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000 + (ts->tv_nsec + 999999) / 1000000;
}

static void timespec_of_ms(struct timespec *ts, int64_t ms)
{
    ts->tv_sec = (time_t)(ms / 1000);
    ts->tv_nsec = (long)(ms % 1000) * 1000000;
}

static bool timespec_valid(const struct timespec *ts)
{
    return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000;
}

unsigned sleep(unsigned seconds)
{
    if (!cio__hook_active())
        return CIO__REAL(sleep)(seconds);
    int64_t left;
    int rc = task_sleep((int64_t)seconds * 1000, &left);
    if (rc < 0)
        errno = -rc;
    return rc < 0 ? (unsigned)((left + 999) / 1000) : 0;
}

int usleep(useconds_t usec)
{
    if (!cio__hook_active())
        return CIO__REAL(usleep)(usec);
    int64_t left;
    int rc = task_sleep(((int64_t)usec + 999) / 1000, &left);
    return rc < 0 ? cio__fail(rc) : 0;
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    if (!cio__hook_active() || req == NULL || !timespec_valid(req))
        return CIO__REAL(nanosleep)(req, rem);
    int64_t left;
    int rc = task_sleep(ms_of_timespec(req), &left);
    if (rc == 0)
        return 0;
    if (rc == -EINTR && rem != NULL)
        timespec_of_ms(rem, left);
    return cio__fail(rc);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                    struct timespec *rem)
{
    if (!cio__hook_active() || req == NULL || !timespec_valid(req) ||
        (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC &&
         clock != CLOCK_BOOTTIME && clock != CLOCK_TAI))
        return CIO__REAL(clock_nanosleep)(clock, flags, req, rem);
    int64_t ms = ms_of_timespec(req);
    if (flags & TIMER_ABSTIME) {
        struct timespec now;
        if (clock_gettime(clock, &now) != 0)
            return errno;
        int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        ms = ms > now_ms ? ms - now_ms : 0;
        rem = NULL; /* an absolute sleep reports no remainder */
    }
    int64_t left;
    int rc = task_sleep(ms, &left);
    if (rc == -EINTR && rem != NULL)
        timespec_of_ms(rem, left);
    return -rc; /* clock_nanosleep returns the error, errno untouched */
}
