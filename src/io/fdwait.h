/* Private: per-fd state and readiness waits, used by the cooperative IO
 * calls.
 *
 * Go netpoll style: each fd has a small state in a table indexed by fd
 * (fdtable.c): its readers and writers and what the loop watches. An fd
 * is registered with the (level-triggered) loop on its first wait
 * (fdwait.c) and its interest changes lazily: kept while waiters come back
 * quickly, dropped only when an event fires that nobody waits for
 * (fdevent.c). A ping-pong connection therefore costs no epoll_ctl in
 * steady state.
 *
 * cio_fd_close wakes the waiters with -EBADF and unregisters before closing,
 * so no event for a reused fd number reaches a stale waiter; the fd's
 * generation moves on, so that a waiter woken by the old file's event
 * before the close does not go on with the new file (io.c). A number
 * closed with plain close() and reused would keep the old file's interest,
 * gone from the kernel with it, and never fire. So a wait that ends
 * without its event drops the interest nobody waits for, and a wait that
 * lasts checks the file's identity (device and inode) now and then
 * (fdprobe.c); calls that rely on a cached O_NONBLOCK check it each time
 * (io.c).
 *
 * Regular files, directories and block devices are always ready (as poll
 * says); fstat tells, when the state is first used. */
#ifndef CORIO_HUB_FDWAIT_H
#define CORIO_HUB_FDWAIT_H

#include <stdint.h>

#include "hub/hub_io.h"

/* What the hub knows about one fd. A read or write that waits takes the
 * direction's slot, so the common case of one waiter links no node; more
 * waiters, and every cio_fd_poll, queue up behind it. */
struct cio__fd {
    /* One cache line per fd, which the event and the call both touch. */
    _Alignas(64) cio_task_t *reader; /* a task waiting to read */
    cio_task_t *writer;              /* a task waiting to write */
    struct cio__waitq readers; /* more tasks waiting until it is readable */
    struct cio__waitq writers; /* more tasks waiting until it is writable */
    union {
        struct {                /* the 0/1 ones hold 0 or 1 exactly */
            uint8_t registered; /* known to the loop */
            uint8_t interest;   /* CIO_READABLE | CIO_WRITABLE asked */
            uint8_t drained;    /* the last read came up short: wait first */
            uint8_t notsock;    /* not a socket: read/write, not recv/send */
            uint8_t nonblock;   /* O_NONBLOCK is set: no fcntl needed */
            uint8_t known;      /* ident and nopoll describe the file */
            uint8_t nopoll;     /* never waits: regular file, directory */
            uint8_t stream;     /* CIO__FD_STREAMING: a streaming record
                                   (io/uring_stream.c) exists; CIO__FD_NOSTREAM:
                                   never again (the program mixes reads and
                                   waits); else drained ring reads in a row */
        };
        uint64_t flags; /* all of them, for a test of several at once */
    };
    uint32_t ident; /* device and inode of the file, hashed to 32 bits */
    /* Moved on when cio_fd_close (or a number found reused) ends the file:
     * a wait woken by the old file's event, whose task had not run yet,
     * sees that the number may name another file now. */
    uint32_t gen;
};

/* A readiness report of the loop, acted on when its iteration ends. */
struct cio__fd_event {
    struct cio__fd *f; /* the fd's state */
    int fd;            /* the fd */
    int events;        /* CIO_READABLE | CIO_WRITABLE | CIO_ERROR */
};

/* One fd of a multi-fd wait (cio_fd_poll). */
struct cio__fdreq {
    int fd;     /* the fd; < 0 is skipped */
    int events; /* CIO_READABLE | CIO_WRITABLE */
};

#define CIO__FD_STREAMING 0x80
#define CIO__FD_NOSTREAM 0x7f

#define CIO__FD_PAGE 256 /* fd states per page; pages never move */

/* The state of fd, allocated on first use; NULL for fd < 0 or no memory. */
struct cio__fd *cio__fd_get(struct cio__hub *hub, int fd);

/* The state of fd if the table has a page for it (no allocation), else
 * NULL; fd < 0 is too far. */
static inline struct cio__fd *cio__fd_peek(struct cio__hub *hub, int fd)
{
    size_t page = (size_t)(unsigned)fd / CIO__FD_PAGE;
    if (__builtin_expect(page < cio__io(hub)->fd_npages, 1)) {
        struct cio__fd *states = cio__io(hub)->fd_pages[page];
        if (__builtin_expect(states != NULL, 1))
            return &states[(unsigned)fd % CIO__FD_PAGE];
    }
    return NULL;
}

/* cio__fd_get, its common case inline: every IO call and wait starts so. */
static inline struct cio__fd *cio__fd_at(struct cio__hub *hub, int fd)
{
    struct cio__fd *f = cio__fd_peek(hub, fd);
    return __builtin_expect(f != NULL, 1) ? f : cio__fd_get(hub, fd);
}

/* True if no task waits on f's fd. */
static inline bool cio__fd_idle(const struct cio__fd *f)
{
    return !f->reader && !f->writer && cio__waitq_empty(&f->readers) &&
           cio__waitq_empty(&f->writers);
}

/* Takes fd out of the hub's waits, for a watcher of its own (fdwatch.c):
 * ends its streaming and drops its loop registration, as a readiness wait
 * and a wait that ends without its event do. True if data that streaming
 * reads took off the socket makes it readable already. */
bool cio__fd_hand_over(struct cio__hub *hub, int fd, struct cio__fd *f);

/* Checks that fd is still the file f describes (fstat): a number closed
 * without cio_fd_close and reused is a new file, whose state starts afresh
 * (who waited on the old one is woken with -EBADF). 0 or -errno. */
int cio__fd_check(struct cio__hub *hub, int fd, struct cio__fd *f);

/* Waits until fd has one of events, or the deadline: 0 or -errno. An fd
 * the loop cannot watch (a regular file) counts as ready. */
int cio__fd_wait(struct cio__hub *hub, cio_task_t *t, int fd, int events,
                 int64_t deadline_ms);

/* cio__fd_wait for the running task of this thread's hub: 1 once ready,
 * or -errno; in the common case (a socket read or write that waits again)
 * it switches away as its last act and returns 0 once woken, and then
 * cio__fd_woken gives the result. The caller's frame is the waiting
 * task's last. */
int cio__fd_wait_self(struct cio__fd *f, int fd, int events,
                      int64_t deadline_ms);

/* cio__fd_wait_self(f, fd, CIO_READABLE, -1), its common case made
 * first: the wait of a socket read that came up short. */
int cio__fd_wait_read(struct cio__fd *f, int fd);

/* cio__fd_woken for a wake by something else than the fd. */
int cio__fd_wait_end(int fd, int events, int64_t deadline_ms);

/* The result of a cio__fd_wait_self that returned 0: 0 (ready) or -errno. */
static inline int cio__fd_woken(int fd, int events, int64_t deadline_ms)
{
    if (__builtin_expect(cio__run(cio__tls_hub)->current->wake_rc == 0, 1))
        return 0;
    return cio__fd_wait_end(fd, events, deadline_ms);
}

/* Wakes the tasks waiting until fd is readable (data a streaming read
 * took off the socket is there for them). */
void cio__fd_wake_readers(struct cio__hub *hub, int fd);

/* Waits until one of the n requests is ready. nodes holds 2 * n waiter
 * nodes off the task's stack (a shrunk stack must not be linked to). */
int cio__fd_wait_many(struct cio__hub *hub, cio_task_t *t,
                      const struct cio__fdreq *reqs, size_t n,
                      struct cio__waiter *nodes, int64_t deadline_ms);

/* Forgets stale state of an fd number just returned by the kernel. */
void cio__fd_fresh(int fd);

#endif
