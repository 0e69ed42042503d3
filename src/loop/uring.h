/* Private: the io_uring backend's ring, shared with the hub, which submits
 * operations of its own (recv, send, openat...) on it. Their completions
 * are delivered by the backend's poll through cio__uring_op.done. */
#ifndef CIO_LOOP_URING_H
#define CIO_LOOP_URING_H

#include <stdbool.h>

#include "corio/loop.h"

struct cio__uring;

/* An operation submitted on the ring: its sqe's user_data points to this
 * (8-byte aligned, so the low bit stays free for the backend's polls).
 * done runs on the loop's thread from inside the backend's poll. The word
 * that follows it in its container is what done touches next (the task
 * it wakes, or NULL): the poll warms both a few completions ahead, since
 * with thousands of connections they are cold. */
struct cio__uring_op {
    void (*done)(struct cio__uring_op *op, int res, unsigned flags);
};

/* The pointer an operation's container keeps right after it. */
static inline void *cio__uring_op_next(const struct cio__uring_op *op)
{
    return ((void *const *)(const void *)op)[1];
}

#ifdef CIO_HAVE_URING
#include <liburing.h>

/* The loop's ring, or NULL when its backend is not io_uring. */
struct cio__uring *cio__loop_uring(cio_loop_t *loop);

/* A free submission entry (the queue is flushed to the kernel when full),
 * or NULL if even that failed. Its user_data is set to op (NULL: the
 * completion is ignored). Entries reach the kernel at the next poll. */
struct io_uring_sqe *cio__uring_sqe(struct cio__uring *u,
                                    struct cio__uring_op *op);

/* Tells the ring that the operations its completions name are cold (the
 * hub has thousands of tasks): the poll then warms them a few ahead. */
void cio__uring_set_cold(struct cio__uring *u, bool cold);

/* Hands queued entries to the kernel now: >= 0 or -errno. */
int cio__uring_submit(struct cio__uring *u);

/* Hands queued entries to the kernel and runs the task work that ends
 * removed and cancelled requests, so they let go of their files now (the
 * fd is about to be closed; a listener must stop): >= 0 or -errno. */
int cio__uring_flush(struct cio__uring *u);

/* An fd was unregistered, or its interest dropped earlier: its poll lets go
 * of the file now, not at the next poll. */
void cio__uring_unregistered(struct cio__uring *u);

/* True if op's last completion waits in the completion queue (not run
 * yet): the kernel is done with op's memory. */
bool cio__uring_cq_has(struct cio__uring *u, const struct cio__uring_op *op);

/* True if the kernel supports opcode on this ring. */
bool cio__uring_has(struct cio__uring *u, int opcode);

/* Provided buffers, group 0: CIO__PBUF_COUNT buffers of CIO__PBUF_SIZE
 * bytes for reads with IOSQE_BUFFER_SELECT. cio__uring_pbufs sets them up
 * on first use (0 or -errno); a completion's buffer (the id in its flags)
 * is read with cio__uring_pbuf and given back with cio__uring_pbuf_put. */
#define CIO__PBUF_COUNT 1024
#define CIO__PBUF_SIZE 2048
int cio__uring_pbufs(struct cio__uring *u);
const void *cio__uring_pbuf(struct cio__uring *u, unsigned bid);
void cio__uring_pbuf_put(struct cio__uring *u, unsigned bid);
#else
static inline struct cio__uring *cio__loop_uring(cio_loop_t *loop)
{
    (void)loop;
    return NULL;
}
#endif

#endif
