/* The per-fd table: what kind of file each fd is, so that a hooked call
 * knows at once whether MSG_DONTWAIT applies or a poll probe is needed.
 *
 * It only caches what the kernel says (getsockopt SO_TYPE, fstat) and
 * holds no settings of its own: O_NONBLOCK and the socket timeouts are
 * read from the kernel when they matter, so fcntl, ioctl and setsockopt
 * need no hooks to stay honest. An entry is reset when a hooked call
 * creates or closes the fd; a stale one is found out (ENOTSOCK) and
 * relearned.
 *
 * Two levels, no fixed limit: a directory of chunks of 1024 entries,
 * grown under a lock and published atomically. Lookups take no lock; an
 * old directory stays reachable from the new one, because a thread may
 * still be reading it. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "hook.h"

#define CHUNK_BITS 10
#define CHUNK_SIZE (1u << CHUNK_BITS)

struct chunk {
    unsigned char kind[CHUNK_SIZE]; /* CIO__FD_*, accessed atomically */
};

struct dir {
    size_t len;            /* number of chunk slots */
    struct dir *prev;      /* the directory this one replaced */
    struct chunk *slots[]; /* chunk for fds [i << CHUNK_BITS, ...), or NULL */
};

static struct dir *table; /* current directory, atomic */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned char *slot_of(int fd)
{
    struct dir *d = __atomic_load_n(&table, __ATOMIC_ACQUIRE);
    size_t i = (size_t)fd >> CHUNK_BITS;
    if (d == NULL || i >= d->len)
        return NULL;
    struct chunk *c = __atomic_load_n(&d->slots[i], __ATOMIC_ACQUIRE);
    return c ? &c->kind[(size_t)fd & (CHUNK_SIZE - 1)] : NULL;
}

/* The slot for fd, growing the table; NULL when out of memory (the
 * entry is then simply not cached). */
static unsigned char *slot_make(int fd)
{
    size_t i = (size_t)fd >> CHUNK_BITS;
    unsigned char *slot = NULL;
    pthread_mutex_lock(&table_lock);
    struct dir *d = table;
    if (d == NULL || i >= d->len) {
        size_t len = d ? d->len : 16;
        while (len <= i)
            len *= 2;
        struct dir *nd = calloc(1, sizeof(*nd) + len * sizeof(nd->slots[0]));
        if (nd == NULL)
            goto out;
        nd->len = len;
        nd->prev = d;
        for (size_t k = 0; d != NULL && k < d->len; k++)
            nd->slots[k] = d->slots[k];
        __atomic_store_n(&table, nd, __ATOMIC_RELEASE);
        d = nd;
    }
    if (d->slots[i] == NULL) {
        struct chunk *c = calloc(1, sizeof(*c));
        if (c == NULL)
            goto out;
        __atomic_store_n(&d->slots[i], c, __ATOMIC_RELEASE);
    }
    slot = &d->slots[i]->kind[(size_t)fd & (CHUNK_SIZE - 1)];
out:
    pthread_mutex_unlock(&table_lock);
    return slot;
}

void cio__fd_set_kind(int fd, int kind)
{
    if (fd < 0)
        return;
    unsigned char *slot = slot_of(fd);
    if (slot == NULL && kind == CIO__FD_UNKNOWN)
        return; /* nothing cached, nothing to forget */
    if (slot == NULL)
        slot = slot_make(fd);
    if (slot != NULL)
        __atomic_store_n(slot, (unsigned char)kind, __ATOMIC_RELAXED);
}

int cio__fd_kind_of_type(int type)
{
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    return type == SOCK_STREAM ? CIO__FD_STREAM : CIO__FD_DGRAM;
}

int cio__fd_kind(int fd)
{
    if (fd < 0)
        return CIO__FD_OTHER;
    unsigned char *slot = slot_of(fd);
    int kind = slot ? __atomic_load_n(slot, __ATOMIC_RELAXED) : 0;
    if (kind != CIO__FD_UNKNOWN)
        return kind;
    int saved = errno;
    int type;
    socklen_t len = sizeof(type);
    struct stat st;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
        kind = cio__fd_kind_of_type(type);
    else if (errno == ENOTSOCK && fstat(fd, &st) == 0)
        kind = S_ISFIFO(st.st_mode) ? CIO__FD_FIFO : CIO__FD_OTHER;
    errno = saved;
    if (kind == CIO__FD_UNKNOWN)
        return CIO__FD_OTHER; /* not open: the real call reports EBADF */
    cio__fd_set_kind(fd, kind);
    return kind;
}
