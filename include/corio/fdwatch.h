/* Tasks that start when an fd becomes readable. A server whose connections
 * mostly wait (control connections between commands) can end a
 * connection's task while it waits and let a watch start a new one when
 * the peer sends: a waiting connection then costs its watch, a few bytes
 * in the connection's own state, instead of a task and its frames.
 *
 * The watches of a set share one epoll(7) instance, which the hub's loop
 * watches. A watch stays attached to its fd once it fired, so that arming
 * it again costs no system call: a connection that goes back and forth
 * between a task and its watch costs what a task waiting on it would. */
#ifndef CORIO_FDWATCH_H
#define CORIO_FDWATCH_H

#include "export.h"
#include "hub.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A set of watches on one hub. */
typedef struct cio_watchset cio_watchset_t;

/* A watch. The caller owns its memory (it fits in a connection's state);
 * its fields are corio's. Zeroed, it is not attached. */
typedef struct cio_fd_watch {
    cio_task_cb fn;      /* runs in a new task when it fires */
    void *arg;           /* fn's argument */
    cio_watchset_t *set; /* the set it is attached in */
    int fd;              /* the fd watched */
    unsigned char state; /* not attached, armed, or fired (still attached) */
    unsigned char poked; /* fd became readable since it fired */
} cio_fd_watch_t;

/* Creates a set of watches on this thread's hub. Returns 0, -EPERM (no hub
 * on this thread), -EINVAL (out NULL), -ENOMEM, -EMFILE or the loop's
 * error. */
CIO_API int cio_watchset_new(cio_watchset_t **out);

/* Frees a set; every watch of it must have been cancelled before (one
 * that was not is dropped: its task never starts, and it must not be used
 * again). NULL is ignored. */
CIO_API void cio_watchset_free(cio_watchset_t *set);

/* Arms w on fd in set: once fd is readable (data, end of file, hang-up or
 * error), fn(arg) runs in a new detached task, made as a stream server's
 * connection task is (cio_hub_set_conn_copied_stacks applies), and w has
 * fired. No task waits meanwhile, and no task may wait on fd until w fires
 * or is cancelled. Armed again on the same fd and set, w costs no system
 * call and fires on what came since it last fired (at once if something
 * did): read fd until a read comes up short before arming it again, as
 * bytes left from before are not announced again. When no task can be
 * made, it tries again at the loop's next iteration. Returns 0, -EPERM (no hub
 * on this thread, set of another hub's, or a file epoll cannot watch), -EINVAL
 * (w, set or fn NULL, fd < 0), -EALREADY (w is armed), -EBUSY (a task waits on
 * fd), -EEXIST (another watch of set is on fd), -ENOMEM. */
CIO_API int cio_fd_watch_start(cio_fd_watch_t *w, cio_watchset_t *set, int fd,
                               cio_task_cb fn, void *arg);

/* Detaches w from its fd, which stays open; call it before closing the fd
 * or freeing w, whether w fired or not. Returns 1 if w was armed (its task
 * will not start), 0 if it had fired, -ENOENT (w is not attached) or
 * -EINVAL (w NULL). */
CIO_API int cio_fd_watch_cancel(cio_fd_watch_t *w);

/* Fires an armed w now, as if its fd had become readable: its task is
 * spawned (runnable at the next switch to the hub). For a connection that
 * must act before its peer sends: a timeout, a shutdown. Returns 0,
 * -ENOENT (w is not armed), -EINVAL (w NULL), or -ENOMEM or -EAGAIN (no
 * task could be made: w stays armed). */
CIO_API int cio_fd_watch_fire(cio_fd_watch_t *w);

#ifdef __cplusplus
}
#endif

#endif
