/* The hub's completion mode on the io_uring backend: a cooperative call
 * queues the operation itself (recv, send, accept, openat...) and its task
 * waits for the completion, which the loop's poll delivers. Entries queued
 * while tasks run reach the kernel together, in the one io_uring_enter of
 * the hub's next loop iteration.
 *
 * The hard part is ending a wait early (deadline, kill, interrupt): the
 * operation's buffer, often on the task's stack, belongs to the kernel until
 * the completion arrives. So the task cancels the operation and then waits,
 * uninterruptibly, for that completion; its stack is kept (never shrunk)
 * while an operation is in flight. If the operation went through before the
 * cancel reached it, its result is returned: bytes moved are not lost, an
 * accepted fd is not leaked, a socket's error is not swallowed. */
#ifdef CIO_HAVE_URING
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io/uring_hub.h"

static void uop_done(struct cio__uring_op *base, int res, unsigned flags)
{
    struct cio__uop *op = (struct cio__uop *)base;
    op->res = res;
    op->flags = flags;
    op->done = true;
    cio__wake(op->task, 0);
}

struct io_uring_sqe *cio__uop_sqe(struct cio__hub *hub, cio_task_t *t)
{
    struct cio__uop *op = cio__task_uop(t);
    op->base.done = uop_done;
    op->task = t;
    op->done = false;
    op->res = 0;
    op->flags = 0;
    return cio__uring_sqe(cio__io(hub)->uring, &op->base);
}

/* Cancels t's operation and waits until the kernel is done with it. */
static void cancel_and_wait(struct cio__hub *hub, cio_task_t *t, long arg)
{
    struct io_uring_sqe *sqe = cio__uring_sqe(cio__io(hub)->uring, NULL);
    if (sqe)
        io_uring_prep_cancel(sqe, &cio__task_uop(t)->base, 0);
    /* Without an entry the operation still ends by itself (or when its
     * fd is closed); waiting is all that is safe. */
    while (!cio__task_uop(t)->done) {
        if (cio__block_raw(t, "io_uring cancel", arg) == -EINTR)
            t->interrupt = true; /* for the next wait: not this one */
    }
}

/* cio__uop_wait, inlined into the provided-buffer read: one frame less
 * where a task waits for data (with copied stacks, its memory). */
static inline __attribute__((always_inline)) int
uop_wait(struct cio__hub *hub, cio_task_t *t, int64_t deadline_ms,
         const char *what, long arg, bool stack)
{
    bool keep = t->keep_stack;
    /* The kernel may use the task's stack until done: not shrunk, and on
     * a shared stack its frames stay in place (the others of that stack
     * wait). Only operations that end by themselves (files) come here
     * so from a task on a shared stack; its socket calls, which may wait
     * for a peer that needs that stack, take the readiness way. */
    bool pin = stack && t->copied;
    if (stack)
        t->keep_stack = true;
    if (pin)
        cio__task_pin_stack(t, true);
    cio__hub_inflight(hub, +1);
    int rc = cio__block(t, deadline_ms, what, arg);
    if (!cio__task_uop(t)->done)
        cancel_and_wait(hub, t, arg);
    cio__hub_inflight(hub, -1);
    if (pin)
        cio__task_pin_stack(t, false);
    t->keep_stack = keep;
    int res = cio__task_uop(t)->res;
    /* Cut short and cancelled (an operation the kernel was running may
     * end with -EINTR instead): the reason it was cut short. */
    if (rc != 0 && (res == -ECANCELED || res == -EINTR))
        return rc;
    /* The operation was done before its cancel: its result wins, data or
     * an error (a socket's, which the kernel gives once), and an interrupt
     * is for the next call, as after any wait. */
    if (rc == -EINTR)
        t->interrupt = true;
    /* Cancelled, but not by this task: cio_fd_close of its fd. */
    return res == -ECANCELED ? -EBADF : res;
}

int cio__uop_wait(struct cio__hub *hub, cio_task_t *t, int64_t deadline_ms,
                  const char *what, long arg, bool stack)
{
    return uop_wait(hub, t, deadline_ms, what, arg, stack);
}

ssize_t cio__uring_recv_pbuf(struct cio__hub *hub, cio_task_t *t, int fd,
                             void *buf, size_t n, int flags, bool poll_first,
                             int64_t deadline_ms)
{
    if (cio__uring_pbufs(cio__io(hub)->uring) < 0)
        return -ENOBUFS;
    struct io_uring_sqe *sqe = cio__uop_sqe(hub, t);
    if (!sqe)
        return -ENOBUFS;
    io_uring_prep_recv(sqe, fd, NULL, n, flags);
    if (poll_first) /* no data yet, most likely: skip the first attempt */
        sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    int rc = uop_wait(hub, t, deadline_ms, "fd read", fd, false);
    if (cio__task_uop(t)->flags & IORING_CQE_F_BUFFER) {
        unsigned bid = cio__task_uop(t)->flags >> IORING_CQE_BUFFER_SHIFT;
        if (rc > 0) /* even if the wait was cut short: the data is ours */
            memcpy(buf, cio__uring_pbuf(cio__io(hub)->uring, bid), (size_t)rc);
        cio__uring_pbuf_put(cio__io(hub)->uring, bid);
    }
    return rc;
}

int cio__uring_close(struct cio__hub *hub, int fd, bool linger)
{
    /* The fd's operations end with -ECANCELED (their tasks see -EBADF),
     * looked up by the open file while the fd still names it: the cancel
     * goes to the kernel now, before the close. cio_fd_close does not switch
     * tasks (the hook library counts on it), so the close stays close(2). */
    struct io_uring_sqe *sqe =
        linger ? NULL : cio__uring_sqe(cio__io(hub)->uring, NULL);
    if (sqe)
        io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
    /* The cancelled requests let go of the file before the close. */
    (void)cio__uring_flush(cio__io(hub)->uring);
    if (close(fd) < 0 && errno != EINTR)
        return -errno;
    return 0;
}
#endif
