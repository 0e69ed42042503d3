/* Moving bytes between fds for tasks: copying one fd into another (with
 * splice(2) where the kernel can, so the bytes never reach user space), a
 * proxy that copies both ways at once, and an idle deadline that moves
 * with activity, shared by the calls that make progress. */
#ifndef CORIO_COPY_H
#define CORIO_COPY_H

#include <stdbool.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- idle deadlines ---- */

typedef struct cio_idle cio_idle_t;

/* An idle deadline: it passes once idle_ms go by without activity
 * (cio_idle_touch), and starts now. Returns 0, -EINVAL (out NULL,
 * idle_ms <= 0) or -ENOMEM. */
CIO_API int cio_idle_new(cio_idle_t **out, int64_t idle_ms);

/* Frees it. NULL is ignored. */
CIO_API void cio_idle_free(cio_idle_t *idle);

/* Records activity now (on cio_hub_now's clock): the idle deadline moves. */
CIO_API void cio_idle_touch(cio_idle_t *idle);

/* The deadline to give the next blocking call: the earlier of deadline_ms
 * (-1 = none) and the last activity + idle_ms. A call that then returns
 * -ETIMEDOUT while cio_idle_expired is false was cut short by an old idle
 * deadline that another task's activity has moved since: retry it. */
CIO_API int64_t cio_idle_deadline(const cio_idle_t *idle, int64_t deadline_ms);

/* True once idle_ms have passed since the last activity. */
CIO_API bool cio_idle_expired(const cio_idle_t *idle);

/* A pointer for the program, never used by corio. */
CIO_API void cio_idle_set_data(cio_idle_t *idle, void *data);
CIO_API void *cio_idle_data(const cio_idle_t *idle);

/* ---- copying ---- */

/* Copies from fd `from` to fd `to` until end of file on `from`, with
 * splice(2) through a pipe where both fds allow it, else through a buffer.
 * Both fds are made non-blocking. Each transfer touches idle (may be NULL);
 * the waits end at cio_idle_deadline(idle, deadline_ms). *copied (may be
 * NULL) gets the bytes written to `to`, also on error. Returns 0 at end of
 * file, -ETIMEDOUT (deadline or idle), the fd errors of io.h, or the -errno
 * of read/write/splice (-EPIPE, -ECONNRESET...); -ENOMEM, -EMFILE (no fds
 * for the pipe). */
CIO_API int cio_fd_copy(int from, int to, uint64_t *copied, cio_idle_t *idle,
                        int64_t deadline_ms);

/* Proxies between two connected fds: copies a to b and b to a at once (in
 * the calling task and a child task), passes each end of file on as a
 * shutdown(SHUT_WR) of the other socket, and returns once both directions
 * reached end of file, or at the first error, the deadline, or idle_ms (> 0;
 * 0 = none) without a byte either way; then the other direction is stopped
 * too. counts (may be NULL) gets the bytes copied a to b in counts[0], b to
 * a in counts[1]. The fds stay open: the caller closes them. Returns 0,
 * -ETIMEDOUT, -ECANCELED (the caller was killed), or the errors of
 * cio_fd_copy and cio_nursery_spawn. */
CIO_API int cio_fd_proxy(int a, int b, uint64_t counts[2], int64_t idle_ms,
                         int64_t deadline_ms);

#ifdef __cplusplus
}
#endif

#endif
