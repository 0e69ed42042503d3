/* Private to the hook library: the real libc functions, the per-fd table
 * and the helpers every interposed call shares.
 *
 * The rule the whole library follows: an interposed call first checks
 * whether it runs inside a task (cio__hook_active); if not, it is exactly
 * the real call. Inside a task it never changes an fd's flags or options:
 * it tries the operation without blocking (MSG_DONTWAIT, or a poll probe),
 * and only when that would block, and the program did not make the fd
 * non-blocking itself, does it wait on the hub and try again. corio's own
 * code only makes non-blocking calls, so when it calls read() or poll()
 * itself those pass straight through and never wait or recurse. */
#ifndef CIO_HOOK_HOOK_H
#define CIO_HOOK_HOOK_H

#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* libc entry points the hook replaces that libc's headers declare only
 * under _FORTIFY_SOURCE, or never. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                       struct sockaddr *from, socklen_t *fromlen);
int __poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout_ms, size_t fdslen);

/* ---- the real functions, found with dlsym(RTLD_NEXT) ---- */

struct cio__real_fns {
    ssize_t (*read)(int, void *, size_t);
    ssize_t (*write)(int, const void *, size_t);
    ssize_t (*readv)(int, const struct iovec *, int);
    ssize_t (*writev)(int, const struct iovec *, int);
    ssize_t (*recv)(int, void *, size_t, int);
    ssize_t (*send)(int, const void *, size_t, int);
    ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
                        socklen_t *);
    ssize_t (*sendto)(int, const void *, size_t, int, const struct sockaddr *,
                      socklen_t);
    ssize_t (*recvmsg)(int, struct msghdr *, int);
    ssize_t (*sendmsg)(int, const struct msghdr *, int);
    int (*accept)(int, struct sockaddr *, socklen_t *);
    int (*accept4)(int, struct sockaddr *, socklen_t *, int);
    int (*connect)(int, const struct sockaddr *, socklen_t);
    int (*poll)(struct pollfd *, nfds_t, int);
    int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
    int (*epoll_wait)(int, struct epoll_event *, int, int);
    unsigned (*sleep)(unsigned);
    int (*usleep)(useconds_t);
    int (*nanosleep)(const struct timespec *, struct timespec *);
    int (*clock_nanosleep)(clockid_t, int, const struct timespec *,
                           struct timespec *);
    int (*getaddrinfo)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
    int (*close)(int);
    int (*socket)(int, int, int);
    int (*socketpair)(int, int, int, int[2]);
    int (*pipe)(int[2]);
    int (*pipe2)(int[2], int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
};

/* Filled once, on first use, by cio__real_init. */
extern struct cio__real_fns cio__real;
extern int cio__real_ready;

void cio__real_init(void);

/* The real function `name`, resolving the table on first use. */
#define CIO__REAL(name)                                                        \
    (__atomic_load_n(&cio__real_ready, __ATOMIC_ACQUIRE)                       \
         ? cio__real.name                                                      \
         : (cio__real_init(), cio__real.name))

/* ---- when hooks are active ---- */

/* Per-thread: > 0 while hooks are off (switched off by the program, or
 * while corio's own cio_fd_close runs and calls close() itself). */
extern _Thread_local int cio__hook_off;

/* True when the calling code runs in a task with hooking on. */
bool cio__hook_active(void);

/* ---- the per-fd table: what kind of file an fd is ---- */

enum {
    CIO__FD_UNKNOWN = 0, /* not learned yet (or reset by close/create) */
    CIO__FD_STREAM,      /* SOCK_STREAM socket: send/recv with MSG_DONTWAIT */
    CIO__FD_DGRAM,       /* any other socket type (datagram, seqpacket) */
    CIO__FD_FIFO,        /* a pipe or FIFO: probe, then the real call */
    CIO__FD_OTHER        /* tty, device, regular file...: probe, real call */
};

/* The kind of fd, learned on first use (getsockopt SO_TYPE, fstat) and
 * cached; CIO__FD_OTHER without caching when fd is not open. Keeps errno. */
int cio__fd_kind(int fd);

/* Records a kind (fd just created) or forgets it (CIO__FD_UNKNOWN). */
void cio__fd_set_kind(int fd, int kind);

/* Kind for a socket of the given socket(2) type argument. */
int cio__fd_kind_of_type(int type);

/* ---- waiting the way the blocking call would ---- */

/* The state of one hooked call between its non-blocking attempts. */
struct cio__wait {
    int fd;           /* the fd the call is on */
    int events;       /* CIO_READABLE or CIO_WRITABLE */
    int timeo_opt;    /* SO_RCVTIMEO, SO_SNDTIMEO, or 0 (no timeout) */
    int nonblock;     /* -1 unknown, else whether the program set O_NONBLOCK */
    int64_t deadline; /* from the socket's timeout, set at the first wait */
    bool waited;      /* deadline is valid */
};

#define CIO__WAIT_INIT(fd_, events_, opt_)                                     \
    {                                                                          \
        .fd = (fd_), .events = (events_), .timeo_opt = (opt_), .nonblock = -1, \
        .deadline = -1, .waited = false                                        \
    }

/* True if the program made w->fd non-blocking (asked once per call). */
bool cio__wait_nonblock(struct cio__wait *w);

/* The call's deadline from the socket timeout (computed once); -1 none. */
int64_t cio__wait_deadline(struct cio__wait *w);

/* Called after an attempt failed with EAGAIN. Returns -1 with errno set
 * when the call must fail now: EAGAIN if the program made the fd
 * non-blocking or its socket timeout passed, ECANCELED once the task is
 * killed, EINTR when it is interrupted, EBADF when the fd was closed by
 * another task. Returns 0 after waiting: try again. */
int cio__wait_block(struct cio__wait *w);

/* Fails with ECANCELED (-1) if the task was killed and fd is a blocking
 * fd, as corio's own blocking calls do; 0 otherwise. */
int cio__hook_cancelled(int fd);

/* poll(fd, events, 0) with the real poll: > 0 if ready (or in error). */
int cio__probe(int fd, short events);

/* Data corio's own streaming reads (io_uring) took off socket fd before
 * anyone asked: copied into iov (consumed unless MSG_PEEK in flags), and
 * the fd stops streaming. -ENOENT when none is kept (read the socket),
 * -ETIMEDOUT while the multishot still ends (wait for readable). In
 * libcorio: src/io/fdstream.c. */
ssize_t cio__stream_take(int fd, const struct iovec *iov, int cnt, int flags);
/* Waits until a reply corio's own write queued on the ring for fd (io_uring)
 * has gone out, so that a later send follows it: 0 or -errno. */
int cio__stream_flush(int fd);

/* Sets errno from a negative corio result and returns -1. */
int cio__fail(int err);

/* ---- an iovec array that a call consumes piece by piece ---- */

struct cio__iovcur {
    struct iovec *iov;     /* the first iovec with bytes left */
    int cnt;               /* iovecs left from iov */
    struct iovec small[8]; /* storage for short arrays */
    struct iovec *heap;    /* storage for longer ones, or NULL */
};

/* Copies iov; -1 with errno ENOMEM. */
int cio__iovcur_init(struct cio__iovcur *c, const struct iovec *iov, int cnt);

/* Consumes n bytes; returns true while bytes remain. */
bool cio__iovcur_advance(struct cio__iovcur *c, size_t n);

void cio__iovcur_free(struct cio__iovcur *c);

/* Total bytes of an iovec array. */
size_t cio__iov_len(const struct iovec *iov, int cnt);

#endif
