/* Transfers, each in a task of its own so that the session keeps reading
 * the control connection (ABOR, STAT) while data moves.
 *
 * Downloads go out with sendfile(2) (no copy through user space) unless
 * ASCII mode needs LF -> CRLF. Uploads are read in large blocks; a plain
 * STOR writes a hidden temporary file next to the target and renames it
 * onto the name only once the data connection has ended cleanly, so an
 * interrupted or failed upload never leaves a truncated file behind. APPE
 * and REST+STOR write the file in place (that is what resuming means) and
 * on ENOSPC give the file back its old length. */
#include "ftpd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dirlist.h"
#include "reply.h"

#define SEND_CHUNK (4u << 20)   /* sendfile bytes per call */
#define SEND_LOWAT (256u << 10) /* unsent bytes a download socket queues */
#define RECV_BUF (256u << 10)   /* upload block */
#define ASCII_BUF (64u << 10)   /* ASCII conversion block */
#define FAIR_SHARE (16u << 20)  /* bytes moved before yielding to others */

enum phase {
    PH_CONNECT, /* establishing the data connection */
    PH_MOVE,    /* moving bytes: ABOR may stop it */
    PH_FINISH   /* committing and replying: ABOR waits */
};

struct transfer {
    struct ftp_session *s;  /* its session (a reference) */
    enum xfer_kind kind;    /* the verb */
    enum phase phase;       /* what the task is doing */
    bool ascii;             /* TYPE A conversion */
    bool in_place;          /* APPE / REST+STOR / STOU write the file itself */
    bool created;           /* STOU made this file: remove it on failure */
    bool local_error;       /* the error came from the disk, not the network */
    bool orphan;            /* the session is gone: free yourself at the end */
    bool no_replace;        /* anonymous: the commit never replaces a file */
    bool keep;              /* tmp_vpath is kept data: keep it when cut */
    int file_fd;            /* the file, -1 for listings */
    int data_fd;            /* the data connection, -1 until open */
    DIR *dir;               /* directory being listed */
    char *vpath;            /* the file or directory, virtual */
    char *tmp_vpath;        /* STOR's temporary file */
    char *opts;             /* LIST options ("-la") */
    char *pattern;          /* LIST/NLST glob on the names in vpath */
    char *prefix;           /* NLST glob: put before each name ("dir/") */
    bool more;              /* the glob matched more than it listed */
    off_t offset;           /* file position the transfer starts at */
    off_t orig_size;        /* in place: the size before, for rollback */
    off_t fpos;             /* uploads: file position reached */
    off_t bytes;            /* bytes on the data connection so far */
    int64_t data_ms;        /* data connection stall limit */
    int64_t start_ms;       /* when it started (xferlog) */
    struct ftpd_root *root; /* a reference to the session's root */
    struct vfs *vfs;        /* &root->vfs */
    unsigned may;           /* the user's rights, for the MLSD perm fact */
    unsigned hide;          /* MLSD facts left out (OPTS MLST) */

    /* Uploads into kept data (partial.c). */
    struct partial_limits keep_lim; /* what a cut does */
    off_t kept;                     /* bytes kept at the cut */
    cio_tls_conn_t *tls; /* PROT P: the data connection's TLS, or NULL */
};

static void xfer_free(struct transfer *x)
{
    ftps_data_end(&x->tls, false, 0);
    if (x->file_fd >= 0)
        close(x->file_fd);
    if (x->data_fd >= 0)
        cio_fd_close(x->data_fd);
    if (x->dir)
        closedir(x->dir);
    free(x->vpath);
    free(x->tmp_vpath);
    free(x->opts);
    free(x->pattern);
    free(x->prefix);
    root_put(x->root);
    if (x->s)
        session_put(x->s);
    free(x);
}

static int64_t data_deadline(struct transfer *x)
{
    return cio_deadline_in(x->data_ms);
}

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
 * holds. A hint: where the option is missing, nothing changes. */
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

/* True if the client has closed the control connection: an upload whose
 * client vanished is an interrupted one, even if its data ended cleanly. */
static bool control_gone(struct ftp_session *s)
{
    struct pollfd p = {.fd = s->ctl, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
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

static int move(struct transfer *x)
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

/* A killed client's kernel closes its sockets in no set order, and may
 * defer a close by a clock tick: the data connection's FIN, which looks
 * like the end of the file, often comes milliseconds before the control
 * connection's. Before committing, the control connection gets a
 * twentieth of the transfer's time so far (at most UPLOAD_SETTLE_MS) to
 * show that hangup: nothing for a small file, 5% for the rest. */
#define UPLOAD_SETTLE_MS 100
static bool client_vanished(struct transfer *x)
{
    int64_t wait = (cio_hub_now() - x->start_ms) / 20;
    int64_t until =
        cio_hub_now() + (wait < UPLOAD_SETTLE_MS ? wait : UPLOAD_SETTLE_MS);
    for (;;) {
        if (control_gone(x->s))
            return true;
        if (cio_hub_now() >= until)
            return false;
        if (cio_task_sleep(1) < 0 || x->orphan)
            return true; /* the session is ending: not a complete upload */
    }
}

static int sync_fd(int fd)
{
    int rc = cio_file_fsync(fd, -1);
    return rc == -EINVAL || rc == -EROFS ? 0 : rc; /* not syncable: fine */
}

/* Makes a finished upload visible under its name. */
static int commit_upload(struct transfer *x, enum ftpd_fsync policy)
{
    int rc = 0;
    if ((x->keep || (x->in_place && x->kind == X_STOR)) &&
        ftruncate(x->file_fd, x->fpos) < 0)
        rc = -errno;
    if (rc == 0 && policy != FTPD_FSYNC_NONE)
        rc = sync_fd(x->file_fd);
    if (rc == 0 && x->tmp_vpath && x->no_replace)
        rc = vfs_rename_noreplace(x->vfs, x->tmp_vpath, x->vpath);
    else if (rc == 0 && x->tmp_vpath)
        rc = vfs_rename(x->vfs, x->tmp_vpath, x->vpath);
    if (rc == 0 && policy == FTPD_FSYNC_FULL) {
        char name[NAME_MAX + 1];
        int dfd = vfs_open_parent(x->vfs, x->vpath, name);
        if (dfd >= 0) {
            int d = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (d >= 0) {
                rc = sync_fd(d);
                close(d);
            }
            close(dfd);
        }
    }
    if (rc < 0)
        x->local_error = true;
    return rc;
}

/* Leaves no partial file: removes the temporary or new file, or gives an
 * in-place file back its old size when the disk filled up. */
static void discard_upload(struct transfer *x, int rc)
{
    if (x->keep && !x->local_error)
        x->kept = partial_keep(x->vfs, x->tmp_vpath, x->file_fd, x->fpos,
                               &x->keep_lim);
    else if (x->tmp_vpath)
        vfs_unlink(x->vfs, x->tmp_vpath);
    else if (x->created)
        vfs_unlink(x->vfs, x->vpath);
    else if (x->in_place && x->local_error &&
             (rc == -ENOSPC || rc == -EDQUOT || rc == -EFBIG))
        if (ftruncate(x->file_fd, x->orig_size) < 0)
            return;
}

static void final_reply(struct transfer *x, int rc)
{
    struct ftp_session *s = x->s;
    if (rc == 0 && x->more)
        reply(s, 226, "Listed the first %d matches only.", DIRLIST_GLOB_MAX);
    else if (rc == 0)
        reply(s, 226, "Transfer complete.");
    else if (x->phase == PH_CONNECT)
        reply(s, 425, "Cannot open data connection: %s.", cio_strerror(rc));
    else if (!x->local_error)
        reply(s, 426, "Connection closed; transfer aborted.");
    else if (rc == -EEXIST && x->no_replace)
        reply(s, 553, "%s: the name was taken meanwhile; upload discarded.",
              x->vpath);
    else
        reply_local_error(s, rc);
}

static void finish(struct transfer *x, int rc)
{
    bool upload = x->kind == X_STOR || x->kind == X_APPE || x->kind == X_STOU;
    bool quiet = x->orphan || cio_task_cancelled();
    struct ftp_session *s = x->s;
    x->phase = rc < 0 && x->data_fd < 0 ? PH_CONNECT : PH_FINISH;
    if (upload && rc == 0 && (quiet || client_vanished(x)))
        rc = -ECONNRESET;
    if (upload && rc == 0)
        rc = commit_upload(x, s->srv->cfg->fsync);
    if (upload && rc < 0)
        discard_upload(x, rc);
    ftps_data_end(&x->tls, rc == 0, data_deadline(x));
    if (x->data_fd >= 0) {
        if (rc < 0) {
            /* Reset rather than flush what the client no longer reads. */
            struct linger lg = {1, 0};
            setsockopt(x->data_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        cio_fd_close(x->data_fd);
        x->data_fd = -1;
    }
    if (x->orphan)
        return;
    if (upload)
        s->bytes_in += (uint64_t)x->bytes;
    else if (x->kind == X_RETR)
        s->bytes_out += (uint64_t)x->bytes;
    if (x->kind == X_RETR || upload)
        log_transfer(s, x->vpath, x->bytes, cio_hub_now() - x->start_ms, upload,
                     x->ascii, rc == 0);
    if (x->keep && rc < 0 && x->kept > 0)
        log_event(s->srv, s, "upload of %s cut: %lld bytes kept", x->vpath,
                  (long long)x->kept);
    if (!quiet)
        final_reply(x, rc);
}

static void *xfer_main(void *arg)
{
    struct transfer *x = arg;
    if (x->orphan) { /* the session ended before this task first ran */
        xfer_free(x);
        return NULL;
    }
    int fd = data_open(x->s, data_deadline(x));
    int rc = fd;
    if (fd >= 0 && !x->orphan &&
        (rc = ftps_data_start(x->s, fd, &x->tls, data_deadline(x))) < 0) {
        cio_fd_close(fd); /* 425: not a data connection of this session */
    } else if (fd >= 0 && !x->orphan) {
        x->data_fd = fd;
        x->phase = PH_MOVE;
        rc = move(x);
    } else if (fd >= 0) {
        cio_fd_close(fd);
    }
    finish(x, rc);
    if (x->orphan)
        xfer_free(x);
    return NULL;
}

/* ---- starting: open the file or directory, then hand over to a task ---- */

static int refuse_overwrite(struct ftp_session *s, const char *vpath)
{
    struct stat st;
    if (!s->user->anonymous || vfs_lstat(s->vfs, vpath, &st) == -ENOENT)
        return 0;
    reply(s, 553, "%s: anonymous users may not replace files.", vpath);
    return -1;
}

/* The reply to a failed vfs_open_regular(). */
static int refuse_open(struct ftp_session *s, struct transfer *x)
{
    reply_fs_error(s, x->file_fd, x->vpath);
    return -1;
}

static int open_retr(struct ftp_session *s, struct transfer *x, off_t rest)
{
    struct stat st;
    x->file_fd = vfs_open_regular(s->vfs, x->vpath, O_RDONLY, 0, &st);
    if (x->file_fd < 0)
        return refuse_open(s, x);
    if (rest > st.st_size) {
        reply(s, 554, "Restart offset %lld is beyond the end of the file.",
              (long long)rest);
        return -1;
    }
    x->offset = rest;
    reply(s, 150, "Opening %s mode data connection for %s (%lld bytes).",
          x->ascii ? "ASCII" : "BINARY", x->vpath, (long long)st.st_size);
    return 0;
}

/* REST+STOR and APPE: open the existing file and write from an offset. */
static int open_in_place(struct ftp_session *s, struct transfer *x, off_t rest)
{
    struct stat st;
    int flags = O_WRONLY | (x->kind == X_APPE ? O_CREAT : 0);
    x->file_fd = vfs_open_regular(s->vfs, x->vpath, flags, 0666, &st);
    if (x->file_fd == -ENOENT) {
        reply(s, 554, "Restart offset %lld is beyond the end of the file.",
              (long long)rest);
        return -1;
    }
    if (x->file_fd < 0)
        return refuse_open(s, x);
    if (x->kind == X_STOR && rest > st.st_size) {
        reply(s, 554, "Restart offset %lld is beyond the end of the file.",
              (long long)rest);
        return -1;
    }
    x->in_place = true;
    x->orig_size = st.st_size;
    x->offset = x->kind == X_APPE ? st.st_size : rest;
    return 0;
}

/* Named users' uploads write into kept data (partial.c) that a cut leaves
 * for REST+STOR or APPE to continue. 1: opened; 0: not kept here, upload
 * the usual way; -1: refused (replied). */
static int open_kept(struct ftp_session *s, struct transfer *x, off_t rest)
{
    char kpath[VFS_PATH_MAX];
    struct stat st;
    if (vfs_stat(s->vfs, x->vpath, &st) == 0 && !S_ISREG(st.st_mode)) {
        reply_fs_error(s, -ENODEV, x->vpath);
        return -1;
    }
    bool fresh = x->kind == X_STOR && rest == 0;
    int fd = partial_open(s, x->vpath, fresh, kpath, &st, &x->keep_lim);
    if (fd == -EBUSY) {
        reply(s, 450, "%s: another upload of this file by you is running.",
              x->vpath);
        return -1;
    }
    if (fd < 0)
        return 0;
    x->file_fd = fd;
    if (x->kind == X_STOR && rest > st.st_size) {
        reply(s, 554, "Restart offset %lld is beyond the kept %lld bytes.",
              (long long)rest, (long long)st.st_size);
        return -1;
    }
    if (!(x->tmp_vpath = strdup(kpath))) {
        reply(s, 451, "Out of memory.");
        return -1;
    }
    x->keep = true;
    x->offset = x->fpos = x->kind == X_APPE ? st.st_size : rest;
    return 1;
}

static int open_stor(struct ftp_session *s, struct transfer *x, off_t rest)
{
    char tmp[VFS_PATH_MAX];
    struct stat st;
    if (refuse_overwrite(s, x->vpath) < 0)
        return -1;
    /* Anonymous users only add files: APPE of a new name is a STOR. */
    x->no_replace = s->user->anonymous;
    if (x->no_replace && rest > 0) {
        reply(s, 554, "Restart offset %lld is beyond the end of the file.",
              (long long)rest);
        return -1;
    }
    int kept = x->no_replace ? 0 : open_kept(s, x, rest);
    if (kept < 0)
        return -1;
    if (!kept && !x->no_replace && (x->kind == X_APPE || rest > 0)) {
        if (open_in_place(s, x, rest) < 0)
            return -1;
    } else if (!kept) {
        if (vfs_stat(s->vfs, x->vpath, &st) == 0 && !S_ISREG(st.st_mode)) {
            reply_fs_error(s, -ENODEV, x->vpath);
            return -1;
        }
        x->file_fd = vfs_mktemp(s->vfs, x->vpath, tmp, sizeof(tmp));
        if (x->file_fd < 0) {
            reply_fs_error(s, x->file_fd, x->vpath);
            return -1;
        }
        if (!(x->tmp_vpath = strdup(tmp))) {
            vfs_unlink(s->vfs, tmp);
            reply(s, 451, "Out of memory.");
            return -1;
        }
    }
    reply(s, 150, "Ok to send data.");
    return 0;
}

/* STOU: the argument (or "stou") if free, else NAME.1, NAME.2, ... */
static int open_stou(struct ftp_session *s, struct transfer *x)
{
    size_t len = strlen(x->vpath);
    char *name = malloc(len + 8);
    if (!name) {
        reply(s, 451, "Out of memory.");
        return -1;
    }
    int fd = -EEXIST;
    for (int i = 0; i < 1000 && fd == -EEXIST; i++) {
        if (i == 0)
            memcpy(name, x->vpath, len + 1);
        else
            snprintf(name, len + 8, "%s.%d", x->vpath, i);
        fd = vfs_open(s->vfs, name, O_WRONLY | O_CREAT | O_EXCL, 0666);
    }
    if (fd < 0) {
        reply_fs_error(s, fd, x->vpath);
        free(name);
        return -1;
    }
    free(x->vpath);
    x->vpath = name;
    x->file_fd = fd;
    x->in_place = x->created = true;
    const char *base = strrchr(name, '/');
    reply(s, 150, "FILE: %s", base ? base + 1 : name);
    return 0;
}

static int open_listing(struct ftp_session *s, struct transfer *x)
{
    int rc = vfs_opendir(s->vfs, x->vpath, &x->dir);
    if (rc == -ENOTDIR && x->kind != X_MLSD) {
        struct stat st;
        rc = vfs_lstat(s->vfs, x->vpath, &st);
    } else if (rc == -ENOTDIR) {
        reply(s, 501, "%s: not a directory.", x->vpath);
        return -1;
    }
    if (rc < 0) {
        reply_fs_error(s, rc, x->vpath);
        return -1;
    }
    reply(s, 150, "Here comes the directory listing.");
    return 0;
}

static void begin(struct ftp_session *s, enum xfer_kind kind, const char *vpath,
                  const char *list_opts, const char *pattern,
                  const char *prefix)
{
    off_t rest = s->rest;
    s->rest = 0;
    if (s->pasv_fd < 0 && !s->port_set) {
        reply(s, 425, "Use PORT, PASV or EPSV first.");
        return;
    }
    struct transfer *x = calloc(1, sizeof(*x));
    if (!x || !(x->vpath = strdup(vpath)) ||
        (list_opts && !(x->opts = strdup(list_opts))) ||
        (pattern && !(x->pattern = strdup(pattern))) ||
        (prefix && !(x->prefix = strdup(prefix)))) {
        if (x)
            xfer_free(x);
        reply(s, 451, "Out of memory.");
        return;
    }
    x->s = session_hold(s);
    x->kind = kind;
    x->file_fd = x->data_fd = -1;
    x->ascii = s->ascii && kind <= X_STOU;
    x->root = root_hold(s->root);
    x->vfs = &x->root->vfs;
    x->may = s->user->perms;
    x->hide = s->mlst_hide;
    x->data_ms = s->srv->cfg->data_timeout_ms;
    x->start_ms = cio_hub_now();
    int rc;
    switch (kind) {
    case X_RETR:
        rc = open_retr(s, x, rest);
        break;
    case X_STOU:
        rc = open_stou(s, x);
        break;
    case X_STOR:
    case X_APPE:
        rc = open_stor(s, x, rest);
        break;
    default:
        rc = open_listing(s, x);
        break;
    }
    if (rc == 0 && !s->wlock && cio_lock_new(&s->wlock) < 0)
        rc = -1;
    cio_task_t *task = NULL;
    if (rc == 0 && cio_task_spawn(&task, xfer_main, x) < 0)
        rc = -1;
    if (rc < 0) {
        if (x->tmp_vpath || x->created)
            discard_upload(x, -EIO);
        xfer_free(x);
        data_reset(s);
        return;
    }
    cio_task_set_name(task, "ftpd-transfer");
    s->xfer = x;
    s->xfer_task = task;
}

void transfer_begin(struct ftp_session *s, enum xfer_kind kind,
                    const char *vpath, const char *list_opts)
{
    begin(s, kind, vpath, list_opts, NULL, NULL);
}

void transfer_begin_glob(struct ftp_session *s, enum xfer_kind kind,
                         const char *dir_vpath, const char *list_opts,
                         const char *pattern, const char *prefix)
{
    begin(s, kind, dir_vpath, list_opts, pattern, prefix);
}

/* Takes the transfer off the session once its task is done (or leaves it
 * to free itself when this task can no longer wait). */
static void release(struct ftp_session *s)
{
    struct transfer *x = s->xfer;
    cio_task_t *task = s->xfer_task;
    s->xfer = NULL;
    s->xfer_task = NULL;
    int rc;
    while ((rc = cio_task_join(task, -1)) == -EINTR)
        ;
    if (rc == 0) {
        cio_task_free(task);
        xfer_free(x);
    } else if (cio_task_done(task)) {
        cio_task_detach(task);
        xfer_free(x);
    } else {
        x->orphan = true;
        cio_task_kill(task);
        cio_task_detach(task);
    }
}

bool transfer_abort(struct ftp_session *s)
{
    struct transfer *x = s->xfer;
    bool running = !cio_task_done(s->xfer_task) && x->phase != PH_FINISH;
    if (running)
        cio_task_kill(s->xfer_task);
    release(s);
    return running;
}

void transfer_wait(struct ftp_session *s)
{
    release(s);
}

void transfer_reap(struct ftp_session *s)
{
    release(s);
}

off_t transfer_progress(struct ftp_session *s, const char **what)
{
    static const char *verbs[] = {"RETR", "STOR", "APPE", "STOU",
                                  "LIST", "NLST", "MLSD"};
    *what = verbs[s->xfer->kind];
    return s->xfer->bytes;
}
