/* Structured concurrency: a nursery owns the tasks spawned into it, so a
 * task can kill its children and wait for them on the way out (Trio's
 * nurseries, libdill's bundles). A killed task cannot wait for anything
 * else, but cio_nursery_close still waits for the children it kills, for
 * at most the nursery's grace after the kill (it waits under
 * cio_task_shield): enough for their cleanup, never forever. Children that
 * need IO for their own cleanup shield themselves the same way. Nurseries
 * belong to one hub; they are not thread-safe. */
#ifndef CORIO_NURSERY_H
#define CORIO_NURSERY_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "hub.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_nursery cio_nursery_t;

/* Creates an empty nursery on this thread's hub. grace_ms (< 0 counts as
 * 0) bounds how long cio_nursery_close still waits for the children once
 * its caller has been killed. Returns 0, -EINVAL (out NULL), -EPERM (no
 * hub on this thread) or -ENOMEM. */
CIO_API int cio_nursery_new(cio_nursery_t **out, int64_t grace_ms);

/* Starts fn(arg) as a child task of the nursery. out as in cio_task_spawn:
 * NULL leaves the task to the nursery; otherwise the caller also owns the
 * handle (cio_task_result reads fn's value) and frees it. Returns 0,
 * -EINVAL (n or fn NULL), -EPIPE (the nursery is closing), -ENOMEM or
 * -EAGAIN. */
CIO_API int cio_nursery_spawn(cio_nursery_t *n, cio_task_t **out,
                              cio_task_cb fn, void *arg);

/* Waits until no child of the nursery runs. Returns 0, -EINVAL (NULL),
 * -EDEADLK (called by one of its children), or the wait errors of hub.h
 * (-ETIMEDOUT, -ECANCELED at once for a killed caller: use
 * cio_nursery_close to wait then). */
CIO_API int cio_nursery_join(cio_nursery_t *n, int64_t deadline_ms);

/* Kills every child running now (see cio_task_kill); they go on until
 * their function returns. */
CIO_API void cio_nursery_kill(cio_nursery_t *n);

/* Closes the nursery: refuses further spawns, kills the children still
 * running and waits for them until deadline_ms; a caller that is (or gets)
 * killed still waits, for at most the grace after its kill. Then frees the
 * nursery, or leaves that to its last child if some still run. Returns 0
 * (every child ended), -ETIMEDOUT (the deadline passed first), -ECANCELED
 * (the caller was killed and the grace passed first; the children left
 * end on their own and the last one frees the nursery), -EDEADLK (called by
 * a child: the nursery is left open), -EPERM (not in a task: the children
 * are killed, nothing waits), -ENOMEM, or -EINVAL (NULL). */
CIO_API int cio_nursery_close(cio_nursery_t *n, int64_t deadline_ms);

/* Children running now (0 for NULL). */
CIO_API size_t cio_nursery_running(const cio_nursery_t *n);

/* A pointer for the program, never used by corio. */
CIO_API void cio_nursery_set_data(cio_nursery_t *n, void *data);
CIO_API void *cio_nursery_data(const cio_nursery_t *n);

#ifdef __cplusplus
}
#endif

#endif
