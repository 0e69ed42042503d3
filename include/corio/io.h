/* Cooperative IO: the usual socket calls for tasks. Each makes its fd
 * non-blocking on first use (remembered until cio_fd_close), tries the call,
 * and on EAGAIN waits for readiness on the hub until the deadline. Errors are
 * negative errno values; a closed fd that another task waits on wakes it with
 * -EBADF (close with cio_fd_close). Several tasks may wait on one fd; a wait on
 * an fd the program registered on the hub's loop itself fails with -EEXIST. */
#ifndef CORIO_IO_H
#define CORIO_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Waits until fd is readable / writable. 0 or -errno. */
int cio_fd_wait_readable(int fd, int64_t deadline_ms);
int cio_fd_wait_writable(int fd, int64_t deadline_ms);

/* poll(2) for tasks: waits until one of fds is ready or the deadline; fills
 * revents and returns how many are ready (0 at the deadline) or -errno.
 * Regular files are always ready, as with poll(2). */
struct pollfd;
int cio_fd_poll(struct pollfd *fds, unsigned long nfds, int64_t deadline_ms);

/* Read or write at most n bytes; return the count (0 = EOF) or -errno. */
ssize_t cio_fd_read(int fd, void *buf, size_t n, int64_t deadline_ms);
ssize_t cio_fd_write(int fd, const void *buf, size_t n, int64_t deadline_ms);
ssize_t cio_fd_readv(int fd, const struct iovec *iov, int iovcnt,
                     int64_t deadline_ms);
ssize_t cio_fd_writev(int fd, const struct iovec *iov, int iovcnt,
                      int64_t deadline_ms);
ssize_t cio_sock_recv(int fd, void *buf, size_t n, int flags,
                      int64_t deadline_ms);
ssize_t cio_sock_send(int fd, const void *buf, size_t n, int flags,
                      int64_t deadline_ms);
ssize_t cio_sock_recvfrom(int fd, void *buf, size_t n, int flags,
                          struct sockaddr *from, socklen_t *fromlen,
                          int64_t deadline_ms);
ssize_t cio_sock_sendto(int fd, const void *buf, size_t n, int flags,
                        const struct sockaddr *to, socklen_t tolen,
                        int64_t deadline_ms);

/* Reads exactly n bytes: n, or a short count at EOF, or -errno. */
ssize_t cio_fd_read_full(int fd, void *buf, size_t n, int64_t deadline_ms);

/* Writes all n bytes: n, or -errno (bytes already written are lost to the
 * count; use cio_fd_write for partial progress). */
ssize_t cio_fd_write_all(int fd, const void *buf, size_t n,
                         int64_t deadline_ms);

/* Accepts a connection, returned non-blocking and close-on-exec. */
int cio_sock_accept(int fd, struct sockaddr *addr, socklen_t *addrlen,
                    int64_t deadline_ms);

/* Connects a non-blocking socket; 0 or -errno (-ETIMEDOUT, -ECONNREFUSED). */
int cio_sock_connect(int fd, const struct sockaddr *addr, socklen_t addrlen,
                     int64_t deadline_ms);

/* Sends up to count bytes of in_fd from *offset to out_fd with sendfile(2),
 * waiting while out_fd is full. Returns bytes sent (0 at end of file). */
ssize_t cio_fd_sendfile(int out_fd, int in_fd, off_t *offset, size_t count,
                        int64_t deadline_ms);

/* Closes fd, first waking every task that waits on it with -EBADF. */
int cio_fd_close(int fd);

/* Listens on TCP host:port (host NULL or "" = any IPv6 and IPv4, "::1",
 * "127.0.0.1", a name...) with SO_REUSEADDR; backlog <= 0 takes SOMAXCONN;
 * port 0 picks a port. A name is resolved until deadline_ms (cooperatively
 * in a task, blocking outside one). Returns the non-blocking listening fd,
 * the name-lookup errors of cio_dns_getaddrinfo (-ENOENT: no such name),
 * or the errno of socket/bind/listen (-EADDRINUSE, -EACCES...). */
int cio_tcp_listen(const char *host, uint16_t port, int backlog,
                   int64_t deadline_ms);

/* Connects to TCP host:port (resolved cooperatively, every address tried in
 * turn until the deadline). Returns a non-blocking connected fd or -errno. */
int cio_tcp_dial(const char *host, uint16_t port, int64_t deadline_ms);

/* UNIX stream sockets at path. */
int cio_unix_listen(const char *path, int backlog);
int cio_unix_dial(const char *path, int64_t deadline_ms);

/* The local port of a bound socket, or -errno. */
int cio_sock_port(int fd);

/* Makes fd non-blocking. */
int cio_fd_set_nonblock(int fd);

/* ---- stream server: an accept loop with a task per connection ---- */

typedef struct cio_server cio_server_t;
/* A connection's handler: fd (the handler closes it), the client's address
 * (peer_len bytes) and the data given to cio_server_start. */
typedef void (*cio_server_conn_cb)(int fd, const struct sockaddr *peer,
                                   socklen_t peer_len, void *data);

/* Starts accepting on listen_fd in a task; each connection runs
 * handler(fd, peer, peer_len, data) in its own task (the handler owns fd
 * and closes it).
 * max_conns > 0 bounds the handlers running at once (further accepts wait).
 * Returns 0 or -errno. */
int cio_server_start(cio_server_t **out, int listen_fd,
                     cio_server_conn_cb handler, void *data, size_t max_conns);

/* Stops accepting and closes the listening fd; then waits until the running
 * handlers finish or the deadline passes, and kills those left. */
int cio_server_stop(cio_server_t *srv, int64_t deadline_ms);

/* Frees a stopped server. */
void cio_server_free(cio_server_t *srv);

#ifdef __cplusplus
}
#endif

#endif
