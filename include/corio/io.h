/* Cooperative IO: the usual fd and socket calls for tasks. Each tries the
 * call and on EAGAIN waits for readiness on the hub until the deadline.
 * Sockets are read and written with MSG_DONTWAIT (their flags are left
 * alone); other fds, and sockets used by accept, connect and sendfile, are
 * switched to O_NONBLOCK on first use (remembered until cio_fd_close).
 * A closed fd that another task waits on wakes it with -EBADF (close with
 * cio_fd_close). Several tasks may wait on one fd.
 *
 * "The fd errors" below: the wait errors of hub.h (-ETIMEDOUT, -ECANCELED,
 * -EINTR, -EPERM outside a task, -ENOMEM), -EBADF (fd < 0, or closed by
 * cio_fd_close while waiting), -EEXIST (the program registered fd on the
 * hub's loop itself), -EINVAL (select backend: fd >= FD_SETSIZE). */
#ifndef CORIO_IO_H
#define CORIO_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Waits until fd is readable / writable. Returns 0 or the fd errors. */
CIO_API int cio_fd_wait_readable(int fd, int64_t deadline_ms);
CIO_API int cio_fd_wait_writable(int fd, int64_t deadline_ms);

struct pollfd;

/* poll(2) for tasks: waits until one of fds is ready or the deadline; fills
 * revents and returns how many are ready (0 at the deadline), or the fd
 * errors but -ETIMEDOUT. Regular files are always ready, as with poll(2). */
CIO_API int cio_fd_poll(struct pollfd *fds, unsigned long nfds,
                        int64_t deadline_ms);

/* read(2), write(2), readv(2), writev(2) for tasks: return the count (0 =
 * EOF for reads), the fd errors, or the call's own -errno (-EPIPE,
 * -ECONNRESET, -EFAULT...). Writes to a socket never raise SIGPIPE. */
CIO_API ssize_t cio_fd_read(int fd, void *buf, size_t n, int64_t deadline_ms);
CIO_API ssize_t cio_fd_write(int fd, const void *buf, size_t n,
                             int64_t deadline_ms);
CIO_API ssize_t cio_fd_readv(int fd, const struct iovec *iov, int iovcnt,
                             int64_t deadline_ms);
CIO_API ssize_t cio_fd_writev(int fd, const struct iovec *iov, int iovcnt,
                              int64_t deadline_ms);

/* recv(2), send(2), recvfrom(2), sendto(2) for tasks: return as cio_fd_read
 * and cio_fd_write; -ENOTSOCK for an fd that is not a socket. */
CIO_API ssize_t cio_sock_recv(int fd, void *buf, size_t n, int flags,
                              int64_t deadline_ms);
CIO_API ssize_t cio_sock_send(int fd, const void *buf, size_t n, int flags,
                              int64_t deadline_ms);
CIO_API ssize_t cio_sock_recvfrom(int fd, void *buf, size_t n, int flags,
                                  struct sockaddr *from, socklen_t *fromlen,
                                  int64_t deadline_ms);
CIO_API ssize_t cio_sock_sendto(int fd, const void *buf, size_t n, int flags,
                                const struct sockaddr *to, socklen_t tolen,
                                int64_t deadline_ms);

/* Reads exactly n bytes: n, a short count at EOF, or the errors of
 * cio_fd_read (bytes read before an error are lost to the count). */
CIO_API ssize_t cio_fd_read_full(int fd, void *buf, size_t n,
                                 int64_t deadline_ms);

/* Writes all n bytes: n, or the errors of cio_fd_write (bytes already
 * written are lost to the count; use cio_fd_write for partial progress). */
CIO_API ssize_t cio_fd_write_all(int fd, const void *buf, size_t n,
                                 int64_t deadline_ms);

/* Accepts a connection, returned non-blocking and close-on-exec. Returns
 * the new fd, the fd errors, or accept4(2)'s -errno (-EMFILE, -ENFILE...). */
CIO_API int cio_sock_accept(int fd, struct sockaddr *addr, socklen_t *addrlen,
                            int64_t deadline_ms);

/* Connects a socket. Returns 0, the fd errors, or connect(2)'s -errno
 * (-ECONNREFUSED, -ENETUNREACH...). */
CIO_API int cio_sock_connect(int fd, const struct sockaddr *addr,
                             socklen_t addrlen, int64_t deadline_ms);

/* Sends up to count bytes of in_fd from *offset to out_fd with sendfile(2),
 * waiting while out_fd is full. Returns bytes sent (0 at end of file), the
 * fd errors, or sendfile(2)'s -errno (-EINVAL for an fd it cannot use). */
CIO_API ssize_t cio_fd_sendfile(int out_fd, int in_fd, off_t *offset,
                                size_t count, int64_t deadline_ms);

/* Closes fd, first waking every task that waits on it with -EBADF; so too
 * a task that its event woke but that has not run yet (its call does not go
 * on with a new file of the same number). Returns 0, -EBADF (fd < 0) or
 * close(2)'s -errno (-EIO). */
CIO_API int cio_fd_close(int fd);

/* Listens on TCP host:port (host NULL or "" = any IPv6 and IPv4, "::1",
 * "127.0.0.1", a name...) with SO_REUSEADDR; backlog <= 0 takes SOMAXCONN;
 * port 0 picks a port. A name is resolved until deadline_ms (cooperatively
 * in a task, blocking outside one). Returns the non-blocking listening fd,
 * the errors of cio_dns_getaddrinfo (-ENOENT: no such name, -EAGAIN,
 * -ETIMEDOUT...), or socket/bind/listen's -errno (-EADDRINUSE, -EACCES,
 * -EADDRNOTAVAIL). */
CIO_API int cio_tcp_listen(const char *host, uint16_t port, int backlog,
                           int64_t deadline_ms);

/* Connects to TCP host:port (resolved cooperatively, every address tried in
 * turn until the deadline). Returns a non-blocking connected fd, -EINVAL
 * (host NULL or empty), the errors of cio_dns_getaddrinfo, or those of
 * cio_sock_connect for the last address tried. */
CIO_API int cio_tcp_dial(const char *host, uint16_t port, int64_t deadline_ms);

/* UNIX stream sockets at path. Listen returns the fd, -EINVAL (path NULL or
 * empty), -ENAMETOOLONG, or socket/bind/listen's -errno (-EADDRINUSE...);
 * dial returns a connected fd or those and cio_sock_connect's errors. */
CIO_API int cio_unix_listen(const char *path, int backlog);
CIO_API int cio_unix_dial(const char *path, int64_t deadline_ms);

/* The local port of a bound socket, getsockname(2)'s -errno, or
 * -EAFNOSUPPORT (not TCP/UDP over IPv4 or IPv6). */
CIO_API int cio_sock_port(int fd);

/* Makes fd non-blocking. Returns 0 or fcntl(2)'s -errno (-EBADF). */
CIO_API int cio_fd_set_nonblock(int fd);

/* ---- stream server: an accept loop with a task per connection ---- */

typedef struct cio_server cio_server_t;

/* A connection's handler: fd (the handler closes it), the client's address
 * (peer_len bytes) and the data given to cio_server_start. */
typedef void (*cio_server_conn_cb)(int fd, const struct sockaddr *peer,
                                   socklen_t peer_len, void *data);

/* Starts accepting on listen_fd in a task; each connection runs
 * handler(fd, peer, peer_len, data) in its own task (the handler owns fd
 * and closes it). max_conns > 0 bounds the handlers running at once
 * (further accepts wait). Returns 0, -EINVAL (out or handler NULL,
 * listen_fd < 0), -EPERM (no hub), -ENOMEM or -EAGAIN. */
CIO_API int cio_server_start(cio_server_t **out, int listen_fd,
                             cio_server_conn_cb handler, void *data,
                             size_t max_conns);

/* Stops accepting and closes the listening fd; then waits until the running
 * handlers finish or the deadline passes, and kills those left. Returns 0,
 * -EINVAL (NULL), or the wait errors but -ETIMEDOUT. */
CIO_API int cio_server_stop(cio_server_t *srv, int64_t deadline_ms);

/* Frees a server (stopped, or stopping: then it is freed by its last task).
 * NULL is ignored. */
CIO_API void cio_server_free(cio_server_t *srv);

/* A pointer for the program, never used by corio (NULL at start; the
 * handlers' argument is the separate data of cio_server_start). */
CIO_API void cio_server_set_data(cio_server_t *srv, void *data);
CIO_API void *cio_server_data(const cio_server_t *srv);

#ifdef __cplusplus
}
#endif

#endif
