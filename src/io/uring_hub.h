/* Private: the hub's completion mode on the io_uring backend (uring.c). A
 * cooperative call queues its operation itself and the task waits for the
 * completion; whatever was queued while tasks ran reaches the kernel in one
 * submission when the hub goes back to the loop. */
#ifndef CORIO_HUB_URING_HUB_H
#define CORIO_HUB_URING_HUB_H

#include "hub/hub_io.h"
#include "loop/uring.h"
#include <sys/stat.h>
#include <sys/types.h>

#ifdef CIO_HAVE_URING
/* A submission entry for t's operation (t->uop), which t will wait for;
 * NULL (nothing queued) if none could be had. */
struct io_uring_sqe *cio__uop_sqe(struct cio__hub *hub, cio_task_t *t);

/* Waits for t's operation until the deadline, a kill or an interrupt,
 * which cancel it; returns only once the kernel is done with it. Returns
 * the kernel's result when the operation went through (even if the wait
 * was cut short meanwhile: bytes moved, fds made and errors are not lost;
 * an interrupt is then left for the next call), else -ETIMEDOUT,
 * -ECANCELED, -EINTR, or -EBADF when cio_fd_close cancelled it.
 * stack: the kernel holds pointers into the task's stack (buffers, iovecs,
 * addresses), which must then not be shrunk meanwhile. */
int cio__uop_wait(struct cio__hub *hub, cio_task_t *t, int64_t deadline_ms,
                  const char *what, long arg, bool stack);

/* A socket read of at most n bytes into buf through a provided buffer
 * (nothing held while the socket is idle); -ENOBUFS when none is free or
 * provided buffers are unavailable (the caller reads into buf itself).
 * poll_first: the socket was drained, wait for data before trying. */
ssize_t cio__uring_recv_pbuf(struct cio__hub *hub, cio_task_t *t, int fd,
                             void *buf, size_t n, int flags, bool poll_first,
                             int64_t deadline_ms);

/* cio_file_open, _stat, _fsync on the ring (file.c); -ENOSYS when not on
 * a uring hub's task (the caller then uses the file pool). */
int cio__uring_openat(const char *path, int flags, mode_t mode);
int cio__uring_stat(const char *path, struct stat *st);
int cio__uring_fsync(int fd);

struct cio__fd;
struct iovec;

/* Streaming reads (uring_stream.c). cio__stream_enter counts a drained
 * ring read of f and, after a few in a row, makes fd stream (a multishot
 * recv into provided buffers); true if it now does. */
bool cio__stream_enter(struct cio__hub *hub, struct cio__fd *f, int fd);
/* A read of fd served from what its multishot took: bytes, 0 at EOF,
 * -errno; -ENOENT when the caller should read as usual. keep: a plain
 * read, which keeps the fd streaming (else streaming ends; kept data is
 * still served first). flags: MSG_PEEK reads without consuming. */
ssize_t cio__stream_read(struct cio__hub *hub, cio_task_t *t, int fd,
                         const struct iovec *iov, int cnt, int flags, bool keep,
                         int64_t deadline_ms);
/* Ends streaming on fd (a readiness wait, the hook library): true if data
 * or its end is kept, so the fd counts as readable now. */
bool cio__stream_drop(struct cio__hub *hub, int fd);
/* fd is closed or its number reused: kept data is dropped, a waiting
 * reader gets -EBADF, the multishot is cancelled. */
void cio__stream_close(struct cio__hub *hub, int fd);
/* A write of at most CIO__PBUF_SIZE bytes on a streaming fd, copied and
 * queued on the ring with the iteration's other entries (a send-behind):
 * n at once; a failure shows at the next write. Any write first waits for
 * the send-behind in flight (buf NULL: only that). -ENOENT: write as usual;
 * -ETIMEDOUT: the previous one is still in flight and the deadline passed.
 */
ssize_t cio__stream_write(struct cio__hub *hub, cio_task_t *t, int fd,
                          const void *buf, size_t n, int64_t deadline_ms);
/* True while fd has a send-behind in flight: its close must not cancel it
 * (the kernel sends it, then lets the file go, as close(2) would). */
bool cio__stream_sending(struct cio__hub *hub, int fd);
/* Frees every record at the hub's end (no completion runs after it). */
void cio__streams_free(struct cio__hub *hub);

/* cio_fd_close on a uring hub: cancels the fd's operations (all but a
 * send-behind: linger), then closes it. */
int cio__uring_close(struct cio__hub *hub, int fd, bool linger);
#endif

#endif
