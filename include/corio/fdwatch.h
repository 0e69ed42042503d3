/* Tasks that start when an fd becomes readable. A server whose connections
 * mostly wait (control connections between commands) can end a
 * connection's task while it waits and let a watch start a new one when
 * the peer sends: a waiting connection then costs the watch, a few bytes in
 * the connection's own state, instead of a task and its frames. */
#ifndef CORIO_FDWATCH_H
#define CORIO_FDWATCH_H

#include "export.h"
#include "hub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A watch. The caller owns its memory (it fits in a connection's state);
 * its fields are corio's. Zeroed, it is not armed. */
typedef struct cio_fd_watch {
    cio_task_cb fn; /* runs in a new task when it fires; NULL: not armed */
    void *arg;      /* fn's argument */
    int fd;         /* the fd watched */
} cio_fd_watch_t;

/* Arms w: once fd is readable (data, end of file, hang-up or error),
 * fn(arg) runs in a new detached task, made as a stream server's
 * connection task is (cio_hub_set_conn_copied_stacks applies), and w is
 * no longer armed. No task waits meanwhile and the hub forgets how it
 * watched fd for its tasks; fd must stay open and no task may wait on it
 * until w fires or is cancelled. When no task can be made then, it tries
 * again at the loop's next iteration. A watch does not keep cio_hub_run
 * going once every task has ended. Returns 0, -EPERM (no hub on this
 * thread), -EINVAL (w or fn NULL, fd < 0), -EALREADY (w is armed), -EBUSY
 * (a task waits on fd), -EEXIST (the program registered fd on the hub's
 * loop), -ENOMEM, or the loop's error. */
CIO_API int cio_fd_watch_start(cio_fd_watch_t *w, int fd, cio_task_cb fn,
                               void *arg);

/* Disarms w before it fires; fd stays open and its task never starts.
 * Returns 0, -ENOENT (w is not armed: it fired, or never started) or
 * -EINVAL (w NULL). */
CIO_API int cio_fd_watch_cancel(cio_fd_watch_t *w);

/* Fires w now, as if fd had become readable: its task is spawned
 * (runnable at the next switch to the hub) and w is disarmed. For a
 * connection that must act before its peer sends: a timeout, a shutdown.
 * Returns 0, -ENOENT (w is not armed), -EINVAL (w NULL), or -ENOMEM or
 * -EAGAIN (no task could be made: w stays armed). */
CIO_API int cio_fd_watch_fire(cio_fd_watch_t *w);

#ifdef __cplusplus
}
#endif

#endif
