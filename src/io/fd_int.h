/* Private to the files of the fd table (fdtable.c, fdevent.c, fdwait.c,
 * fdprobe.c, fdpoll.c, fdstream.c): what more than one of them needs. */
#ifndef CORIO_IO_FD_INT_H
#define CORIO_IO_FD_INT_H

#include <sys/stat.h>

#include "corio/io.h"
#include "io/fdwait.h"
#include "io/uring_hub.h"

/* A probe's wake: the number names another file now; the waits start
 * again on it (what a read or write waits for is the number's file). */
#define WAKE_RECHECK 1

/* A wait that lasts without an event checks that the number still names
 * the file the loop watches (one fstat): after PROBE_MS, then twice as
 * long, up to every PROBE_MAX_MS. A sweep of the fd table every PROBE_MS,
 * while fds have waiters, does it: the waits themselves arm no timer. */
#define PROBE_MS 250
#define PROBE_MAX_MS 8000

/* The state of fd if the table has a page for it (no allocation); NULL
 * for no hub too. */
static inline struct cio__fd *cio__fd_peek_hub(struct cio__hub *hub, int fd)
{
    return hub ? cio__fd_peek(hub, fd) : NULL;
}

/* Wakes every task waiting on one direction of an fd with rc; returns
 * how many there were (fdevent.c). */
size_t cio__fd_wake_side(struct cio__hub *hub, cio_task_t **slot,
                         struct cio__waitq *q, int rc);

/* Makes the loop watch fd for interest, registering it first if it is not
 * (fdevent.c): 0 or -errno. */
int cio__fd_change_interest(struct cio__hub *hub, int fd, struct cio__fd *f,
                            int interest);

/* What the loop watches for fd becomes interest: in steady state, what it
 * watches already. */
static inline int cio__fd_set_interest(struct cio__hub *hub, int fd,
                                       struct cio__fd *f, int interest)
{
    if (f->registered && f->interest == interest)
        return 0;
    return cio__fd_change_interest(hub, fd, f, interest);
}

/* Drops fd's loop registration and all it knows of the file (fdtable.c). */
void cio__fd_forget(struct cio__hub *hub, int fd, struct cio__fd *f);

/* The identity of a file, device and inode hashed (cio__fd's ident). */
static inline uint32_t cio__fd_file_ident(const struct stat *st)
{
    uint64_t h =
        (uint64_t)st->st_ino ^ ((uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull);
    return (uint32_t)(h ^ h >> 32);
}

/* Ends a streaming fd's record: the fd is closed or reused (fdstream.c). */
void cio__fd_stream_close(struct cio__hub *hub, int fd, struct cio__fd *f);

/* A readiness wait for reading ends streaming on fd: true if the data its
 * reads took off the socket makes it readable now. */
static inline bool cio__fd_stream_ready(struct cio__hub *hub, int fd,
                                        struct cio__fd *f)
{
    bool ready = false;
    if (!f)
        return false;
#ifdef CIO_HAVE_URING
    if (f->stream & CIO__FD_STREAMING)
        ready = cio__stream_drop(hub, fd);
#else
    (void)hub, (void)fd;
#endif
    /* A program that waits before it reads never streams this fd again:
     * it may read with plain read(2) once woken. */
    if (!(f->stream & CIO__FD_STREAMING))
        f->stream = CIO__FD_NOSTREAM;
    return ready;
}

/* Sweeps the fd table for waits that last (fdprobe.c): the timer's
 * callback, started by the first wait, stopped when nobody waits. */
void cio__fd_probe(cio_timer_t *timer);

#endif
