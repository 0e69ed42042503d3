/* Moving a transfer's bytes, in the transfer's own task (transfer_task.c).
 *
 * Downloads go out with sendfile(2) (no copy through user space) unless
 * ASCII mode needs LF -> CRLF. Uploads are read in large blocks (spliced
 * from the socket into the file where splice(2) works); listing lines go
 * out in blocks. */
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dirlist.h"

#define SEND_CHUNK (4u << 20)  /* sendfile bytes per call */
#define SEND_LOWAT (64u << 10) /* unsent bytes a download socket queues */
#define RECV_BUF (256u << 10)  /* upload block */
#define ASCII_BUF (64u << 10)  /* ASCII conversion block */
#define FAIR_SHARE (16u << 20) /* bytes moved before yielding to others */

static ssize_t data_write(struct transfer *x, const void *buf, size_t n)
{
    return x->tls ? ftps_data_write(x->tls, buf, n, data_deadline(x))
                  : cio_fd_write_all(x->data_fd, buf, n, data_deadline(x));
}

static void fair_yield(size_t *since, size_t n)
{
    if ((*since += n) >= FAIR_SHARE) {
        *since = 0;
        cio_task_sleep(0);
    }
}

/* Downloads keep at most SEND_LOWAT bytes queued unsent in the socket
 * (TCP_NOTSENT_LOWAT), so that each sendfile transmits what the window
 * allows in this task's own call, instead of filling a deep buffer that
 * the receiver's ACKs must drain (on loopback, on the client's CPU: the
 * client then falls behind). It also bounds the kernel memory a transfer
 * holds. 64 KiB, not 256: with 100-500 downloads on loopback, 1.6-2.3x the
 * MB/s at no more CPU per GiB, with sendfile calls half as many and each
 * twice as large (docs/BENCHMARKS.md); a single stream is unchanged. A
 * hint: where the option is missing, nothing changes. */
static void limit_unsent(int fd)
{
    int lowat = (int)SEND_LOWAT;
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

static int send_binary(struct transfer *x)
{
    if (x->tls) /* sendfile cannot encrypt */
        return ftps_send_file(x->tls, x->file_fd, x->offset, &x->bytes,
                              &x->local_error, x->data_ms);
    off_t off = x->offset;
    size_t since = 0;
    for (;;) {
        ssize_t n = cio_fd_sendfile(x->data_fd, x->file_fd, &off, SEND_CHUNK,
                                    data_deadline(x));
        if (n <= 0)
            return (int)n;
        x->bytes += n;
        fair_yield(&since, (size_t)n);
        /* Short of the file's end, a short count means the socket is full:
         * the next sendfile would fail with EAGAIN, so wait first. */
        if ((size_t)n < SEND_CHUNK && off < x->size) {
            int rc = cio_fd_wait_writable(x->data_fd, data_deadline(x));
            if (rc < 0)
                return rc;
        }
    }
}

static int send_ascii(struct transfer *x)
{
    char *in = malloc(ASCII_BUF), *out = malloc(2 * ASCII_BUF);
    off_t off = x->offset;
    size_t since = 0;
    int rc = -ENOMEM;
    while (in && out) {
        ssize_t n = cio_file_pread(x->file_fd, in, ASCII_BUF, off, -1);
        if (n <= 0) {
            rc = (int)n;
            x->local_error = n < 0;
            break;
        }
        off += n;
        size_t o = 0;
        for (ssize_t i = 0; i < n; i++) {
            if (in[i] == '\n')
                out[o++] = '\r';
            out[o++] = in[i];
        }
        ssize_t w = data_write(x, out, o);
        if (w < 0) {
            rc = (int)w;
            break;
        }
        x->bytes += (off_t)o;
        fair_yield(&since, o);
    }
    free(in);
    free(out);
    return rc;
}

/* Bytes out of the socket go to the file even once the task is killed (ABOR,
 * the session ending): a cut upload keeps them, and a write cancelled
 * half-way would count as a disk error that throws the kept data away. */
#define FILE_WRITE_GRACE_MS 5000

static int write_file(struct transfer *x, const char *buf, size_t len)
{
    while (len > 0) {
        int64_t old = cio_task_shield(FILE_WRITE_GRACE_MS);
        ssize_t n = cio_file_pwrite(x->file_fd, buf, len, x->fpos, -1);
        cio_task_shield(old);
        if (n < 0) {
            x->local_error = true;
            return (int)n;
        }
        buf += n;
        len -= (size_t)n;
        x->fpos += n;
    }
    return 0;
}

/* CRLF -> LF; a CR at the end of a block waits for the next one. */
static size_t crlf_to_lf(const char *in, size_t n, char *out, bool *cr)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (*cr && in[i] != '\n')
            out[o++] = '\r';
        *cr = in[i] == '\r';
        if (!*cr)
            out[o++] = in[i];
    }
    return o;
}

/* A client that closes its control connection, then its data connection,
 * has sent all its data, but the session's kill at the control hangup may
 * come before the data is in: a killed upload whose control connection is
 * gone reads on for this long, and the cut keeps what came. */
#define UPLOAD_DRAIN_MS 500

/* Upload data in: socket -> pipe (pipe_in >= 0) or socket -> buf. */
static ssize_t data_in(struct transfer *x, int pipe_in, char *buf)
{
    if (pipe_in >= 0)
        return cio_fd_splice(x->data_fd, NULL, pipe_in, NULL, RECV_BUF,
                             data_deadline(x));
    return x->tls ? ftps_data_read(x->tls, buf, RECV_BUF, data_deadline(x))
                  : cio_fd_read(x->data_fd, buf, RECV_BUF, data_deadline(x));
}

static ssize_t upload_in(struct transfer *x, int pipe_in, char *buf)
{
    ssize_t n = data_in(x, pipe_in, buf);
    if (n != -ECANCELED || !control_gone(x->s))
        return n;
    int64_t old = cio_task_shield(UPLOAD_DRAIN_MS);
    n = data_in(x, pipe_in, buf);
    cio_task_shield(old);
    return n;
}

/* Binary uploads: socket -> pipe -> file with splice(2), no copy through
 * user space. Returns -ENOSYS before moving anything if splice does not
 * work here, so that the caller falls back to read/write. */
static int receive_splice(struct transfer *x)
{
    int p[2], rc = 0;
    size_t since = 0;
    bool moved = false;
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
        return -ENOSYS;
    fcntl(p[1], F_SETPIPE_SZ, (int)RECV_BUF);
    x->fpos = x->offset;
    for (;;) {
        ssize_t n = upload_in(x, p[1], NULL);
        if (n < 0) {
            rc = !moved && (n == -EINVAL || n == -ENOSYS) ? -ENOSYS : (int)n;
            break;
        }
        if (n == 0)
            break;
        x->bytes += n;
        while (n > 0) {
            int64_t off = x->fpos;
            int64_t old = cio_task_shield(FILE_WRITE_GRACE_MS);
            ssize_t w =
                cio_fd_splice(p[0], NULL, x->file_fd, &off, (size_t)n, -1);
            cio_task_shield(old);
            if (w <= 0) {
                /* The bytes are out of the socket: no fallback now. */
                rc = w < 0 ? (int)w : -EIO;
                x->local_error = true;
                goto out;
            }
            moved = true;
            x->fpos += w;
            n -= w;
        }
        fair_yield(&since, RECV_BUF);
    }
out:
    cio_fd_close(p[0]); /* the hub may have watched them */
    cio_fd_close(p[1]);
    return rc;
}

static int receive(struct transfer *x)
{
    if (!x->ascii && !x->tls) {
        int rc = receive_splice(x);
        if (rc != -ENOSYS)
            return rc;
    }
    char *buf = malloc(RECV_BUF), *out = x->ascii ? malloc(RECV_BUF) : NULL;
    bool cr = false;
    size_t since = 0;
    int rc = -ENOMEM;
    x->fpos = x->offset;
    while (buf && (out || !x->ascii)) {
        ssize_t n = upload_in(x, -1, buf);
        if (n <= 0) {
            rc = (int)n;
            if (n == 0 && cr)
                rc = write_file(x, "\r", 1);
            break;
        }
        x->bytes += n;
        size_t len = (size_t)n;
        const char *data = buf;
        if (x->ascii) {
            len = crlf_to_lf(buf, len, out, &cr);
            data = out;
        }
        if ((rc = write_file(x, data, len)) < 0)
            break;
        fair_yield(&since, (size_t)n);
    }
    free(buf);
    free(out);
    return rc;
}

/* Listing lines gather in a block that goes out when full. */
struct list_out {
    struct transfer *x; /* the transfer */
    char *buf;          /* LIST_BUF bytes */
    size_t len;         /* bytes waiting */
};

#define LIST_BUF (64u << 10)

static int list_flush(struct list_out *o)
{
    ssize_t w = data_write(o->x, o->buf, o->len);
    if (w < 0)
        return (int)w;
    o->x->bytes += (off_t)o->len;
    o->len = 0;
    return 0;
}

static int list_emit(void *ctx, const char *line, size_t len)
{
    struct list_out *o = ctx;
    int rc;
    if (o->len + len + 2 > LIST_BUF && (rc = list_flush(o)) < 0)
        return rc;
    memcpy(o->buf + o->len, line, len);
    memcpy(o->buf + o->len + len, "\r\n", 2);
    o->len += len + 2;
    return 0;
}

static int send_list(struct transfer *x)
{
    static const enum dirlist_kind kinds[] = {[X_LIST] = DIRLIST_LIST,
                                              [X_NLST] = DIRLIST_NLST,
                                              [X_MLSD] = DIRLIST_MLSD};
    struct list_out o = {.x = x, .buf = malloc(LIST_BUF)};
    struct dirlist d = {
        .vfs = x->vfs,
        .kind = kinds[x->kind],
        .all = x->opts && strchr(x->opts, 'a'),
        .may = x->may,
        .hide = x->hide,
        .pattern = x->pattern,
        .prefix = x->prefix,
        .emit = list_emit,
        .ctx = &o,
    };
    if (!o.buf)
        return -ENOMEM;
    int rc = x->dir ? dirlist_dir(&d, x->dir) : dirlist_entry(&d, x->vpath);
    if (rc == DIRLIST_MORE) {
        x->more = true;
        rc = 0;
    }
    if (rc == 0 && o.len)
        rc = list_flush(&o);
    free(o.buf);
    return rc;
}

int transfer_move(struct transfer *x)
{
    switch (x->kind) {
    case X_RETR:
        limit_unsent(x->data_fd);
        return x->ascii ? send_ascii(x) : send_binary(x);
    case X_LIST:
    case X_NLST:
    case X_MLSD:
        return send_list(x);
    default:
        return receive(x);
    }
}
