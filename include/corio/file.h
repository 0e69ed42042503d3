/* Cooperative file IO for tasks. On the io_uring backend each call is one
 * operation on the hub's ring (no thread); on the other backends it runs on
 * the offload pool's file threads (CIO_OFFLOAD_FILE). Either way only the
 * calling task waits. A deadline (absolute ms on the hub clock, -1 forever)
 * or a kill ends the wait with -ETIMEDOUT or -ECANCELED, but never before
 * the kernel or the thread is done with the caller's buffer; a transfer
 * that went through meanwhile is reported, not lost. */
#ifndef CORIO_FILE_H
#define CORIO_FILE_H

#include "export.h"
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* pread(2): reads at most n bytes of fd at offset (-1: at and moving the
 * file position). Returns the count (0 at end of file) or -errno (-EBADF,
 * -EINVAL, -EISDIR, -EIO, -ETIMEDOUT, -ECANCELED, -EPERM outside a task). */
CIO_API ssize_t cio_file_pread(int fd, void *buf, size_t n, int64_t offset,
                               int64_t deadline_ms);

/* pwrite(2): writes at most n bytes to fd at offset (-1: at and moving the
 * file position). Returns the count or -errno (-ENOSPC, -EDQUOT, -EFBIG,
 * -EBADF, -EIO, -ETIMEDOUT, -ECANCELED, -EPERM outside a task). */
CIO_API ssize_t cio_file_pwrite(int fd, const void *buf, size_t n,
                                int64_t offset, int64_t deadline_ms);

/* splice(2) between fd_in and fd_out, one of them a pipe: moves at most n
 * bytes without copying them to user space, from *off_in / to *off_out
 * when not NULL (advanced by the count). Waits while the pipe or socket is
 * empty or full (so the hub may watch both fds: close them with cio_fd_close).
 * Returns the count (0: end of input) or -errno (-EINVAL, -ESPIPE, -EPIPE,
 * -ETIMEDOUT, -ECANCELED, -EPERM outside a task). */
CIO_API ssize_t cio_fd_splice(int fd_in, int64_t *off_in, int fd_out,
                              int64_t *off_out, size_t n, int64_t deadline_ms);

#ifdef __cplusplus
}
#endif

#endif
