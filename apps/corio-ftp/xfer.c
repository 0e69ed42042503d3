/* Single-file transfers and the worker engine of xfer.h. */
#include "xfer.h"

#include "common/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XFER_BUF (256u * 1024u) /* bytes per read from a data socket */
#define SEND_CHUNK (1u << 20)   /* bytes per sendfile, between updates */
#define MAX_TEMP 512            /* downloads in flight with a temp name */

/* Temporary names of downloads in flight, for a signal handler to remove.
 * Only the loop thread writes them; the handler only reads. */
static char *volatile temp_files[MAX_TEMP];

void xfer_cleanup_temp_files(void)
{
    for (int i = 0; i < MAX_TEMP; i++) {
        char *path = temp_files[i];
        if (path)
            unlink(path);
    }
}

static int temp_register(char *path)
{
    for (int i = 0; i < MAX_TEMP; i++)
        if (!temp_files[i]) {
            temp_files[i] = path;
            return i;
        }
    return -1;
}

static void temp_release(int slot)
{
    if (slot >= 0)
        temp_files[slot] = NULL;
}

xfer_job *xfer_job_new(xfer_kind kind, const ftp_site *site, const char *remote,
                       const char *local, int64_t size, int64_t mtime)
{
    xfer_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->kind = kind;
    job->site = site;
    job->remote = strdup(remote);
    job->local = strdup(local);
    job->size = size;
    job->mtime = mtime;
    if (!job->remote || !job->local) {
        xfer_job_free(job);
        return NULL;
    }
    return job;
}

void xfer_job_free(xfer_job *job)
{
    if (!job)
        return;
    free(job->remote);
    free(job->local);
    free(job);
}

int xfer_tls_mode(const ftp_site *site, const ftp_opts *o)
{
    return site->tls ? site->tls : o->tls ? FTP_TLS_EXPLICIT : FTP_TLS_NONE;
}

int xfer_connect(ftp_conn *c, const ftp_site *site, const ftp_opts *o,
                 char *err, size_t errlen)
{
    ftp_init(c, o->timeout_ms, o->active, o->verbose);
    ftp_set_tls(c, o->tls_ctx, xfer_tls_mode(site, o));
    int rc = ftp_open(c, site->host, site->port);
    if (rc < 0) {
        /* ftp_open resolves the host: -ENOENT is a name that does not. */
        snprintf(err, errlen, "cannot connect to %s port %u: %s", site->host,
                 site->port,
                 rc == -ENOENT || rc == -EAGAIN ? cli_strerror(rc, true)
                                                : ftp_strerror(c, rc));
        return rc;
    }
    rc = ftp_login(c, site->user, site->pass);
    if (rc < 0) {
        snprintf(err, errlen, "login as %s failed: %s", site->user,
                 ftp_strerror(c, rc));
        ftp_drop(c);
        return rc;
    }
    rc = ftp_binary(c);
    if (rc < 0) {
        snprintf(err, errlen, "TYPE I: %s", ftp_strerror(c, rc));
        ftp_drop(c);
    }
    return rc;
}

/* ---- file calls on the offload pool (each owns its argument) ---- */

/* Two paths for rename, or one (to == NULL) for unlink. */
typedef struct path_op {
    char *from; /* source, or the path to remove */
    char *to;   /* destination, NULL for unlink */
} path_op;

static long path_op_run(void *arg)
{
    path_op *op = arg;
    int rc = op->to ? rename(op->from, op->to) : unlink(op->from);
    long result = rc < 0 ? -errno : 0;
    free(op->from);
    free(op->to);
    free(op);
    return result;
}

static int offload_path_op(const char *from, const char *to)
{
    path_op *op = calloc(1, sizeof *op);
    if (!op)
        return -ENOMEM;
    op->from = strdup(from);
    op->to = to ? strdup(to) : NULL;
    if (!op->from || (to && !op->to)) {
        free(op->from);
        free(op->to);
        free(op);
        return -ENOMEM;
    }
    long result = 0;
    int rc = cio_offload_run(&result, CIO_OFFLOAD_FILE, path_op_run, op, -1);
    return rc < 0 ? rc : (int)result;
}

/* ---- downloads ---- */

static char *temp_name(const char *final)
{
    static unsigned counter;
    const char *slash = strrchr(final, '/');
    const char *base = slash ? slash + 1 : final;
    int dirlen = slash ? (int)(slash - final + 1) : 0;
    char *out = NULL;
    if (asprintf(&out, "%.*s.%s.corio-%ld-%u.part", dirlen, final, base,
                 (long)getpid(), ++counter) < 0)
        out = NULL;
    return out;
}

static int write_full(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Copies the data socket into fd until EOF. */
static int receive(ftp_conn *c, int dfd, int fd, progress_t *pg,
                   progress_item_t *it, int64_t *received, char *err,
                   size_t errlen)
{
    char *buf = malloc(XFER_BUF);
    if (!buf)
        return -ENOMEM;
    int rc = 0;
    for (;;) {
        int64_t dl = c->timeout_ms < 0 ? -1 : cio_deadline_in(c->timeout_ms);
        ssize_t got = ftp_data_read(c, dfd, buf, XFER_BUF, dl);
        if (got == 0)
            break;
        if (got < 0) {
            rc = (int)got;
            snprintf(err, errlen, "data connection: %s",
                     got == -ETIMEDOUT ? "timed out" : cio_strerror(rc));
            break;
        }
        rc = write_full(fd, buf, (size_t)got);
        if (rc < 0) {
            snprintf(err, errlen, "writing the local file: %s",
                     cio_strerror(rc));
            break;
        }
        *received += got;
        progress_advance(pg, it, got);
    }
    free(buf);
    return rc;
}

/* Where a download starts: the end of the partial file with -c, else 0
 * in a fresh temporary file. Returns the open fd or -errno. */
static int open_target(const xfer_job *job, const ftp_opts *o, int64_t size,
                       int64_t *offset, char **tmp)
{
    *offset = 0;
    *tmp = NULL;
    if (o->resume) {
        struct stat st;
        if (cio_file_stat(job->local, &st, -1) == 0 && S_ISREG(st.st_mode) &&
            (size < 0 || st.st_size <= size))
            *offset = st.st_size;
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (*offset ? 0 : O_TRUNC);
        return cio_file_open(job->local, flags, 0666, -1);
    }
    *tmp = temp_name(job->local);
    if (!*tmp)
        return -ENOMEM;
    int fd =
        cio_file_open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666, -1);
    if (fd < 0) {
        free(*tmp);
        *tmp = NULL;
    }
    return fd;
}

/* Ends a download's local file (fd, written to tmp unless NULL): sets
 * its mtime, closes it, and renames tmp into place, or removes tmp after
 * a failure (rc < 0). Returns rc, else the first error of these steps. */
static int finish_target(const xfer_job *job, int fd, char *tmp, int slot,
                         int rc, char *err, size_t errlen)
{
    if (rc == 0 && job->mtime >= 0) {
        struct timespec ts[2] = {{job->mtime, 0}, {job->mtime, 0}};
        futimens(fd, ts);
    }
    if (close(fd) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, errlen, "closing %s: %s", job->local, cio_strerror(rc));
    }
    if (tmp) {
        int frc = rc == 0 ? offload_path_op(tmp, job->local)
                          : offload_path_op(tmp, NULL);
        if (rc == 0 && frc < 0) {
            rc = frc;
            snprintf(err, errlen, "renaming to %s: %s", job->local,
                     cio_strerror(rc));
            offload_path_op(tmp, NULL);
        }
        temp_release(slot);
        free(tmp);
    }
    return rc;
}

static int do_get(ftp_conn *c, const xfer_job *job, const ftp_opts *o,
                  progress_t *pg, char *err, size_t errlen)
{
    int64_t size = job->size, offset, received = 0;
    if (size < 0 && ftp_size(c, job->remote, &size) < 0) {
        size = -1; /* not every server knows SIZE; RETR tells the rest */
        if (c->fd < 0) {
            snprintf(err, errlen, "%s", ftp_strerror(c, -ENOTCONN));
            return -ENOTCONN;
        }
    }
    if (job->size < 0 && size >= 0)
        progress_expect(pg, 0, size); /* learnt now: count it in the total */
    if (o->resume && size >= 0) {
        struct stat st;
        if (cio_file_stat(job->local, &st, -1) == 0 && S_ISREG(st.st_mode) &&
            st.st_size == size) {
            progress_skip(pg, size);
            return 0; /* already complete */
        }
    }
    char *tmp;
    int fd = open_target(job, o, size, &offset, &tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", job->local,
                 cio_strerror(fd));
        progress_end(pg, NULL, false, NULL);
        return fd;
    }
    int slot = tmp ? temp_register(tmp) : -1;
    int dfd = ftp_data_begin(c, offset, "RETR %s", job->remote);
    if (dfd == -ENOTSUP && offset > 0) { /* no REST: start over */
        offset = 0;
        if (ftruncate(fd, 0) == 0)
            dfd = ftp_data_begin(c, 0, "RETR %s", job->remote);
    }
    progress_item_t *it = progress_begin(pg, job->local, size, offset);
    int rc = dfd == -ENODATA ? 0 : dfd;
    if (dfd < 0 && dfd != -ENODATA)
        snprintf(err, errlen, "%s", ftp_strerror(c, dfd));
    if (dfd >= 0) {
        if (lseek(fd, offset, SEEK_SET) < 0)
            rc = -errno;
        else
            rc = receive(c, dfd, fd, pg, it, &received, err, errlen);
        ftp_data_close(c, dfd, rc == 0);
        if (rc < 0) {
            ftp_drop(c); /* mid-transfer: the control state is unknown */
        } else if ((rc = ftp_data_end(c)) < 0) {
            snprintf(err, errlen, "%s", ftp_strerror(c, rc));
        }
    }
    if (rc == 0 && size >= 0 && offset + received != size) {
        rc = -EPIPE;
        snprintf(err, errlen, "incomplete: %lld of %lld bytes",
                 (long long)(offset + received), (long long)size);
    }
    rc = finish_target(job, fd, tmp, slot, rc, err, errlen);
    progress_end(pg, it, rc == 0, offset > 0 ? "resumed" : NULL);
    return rc;
}

/* ---- uploads ---- */

/* Under TLS the file goes through user space: read in large blocks, sent
 * as full records (sendfile cannot encrypt). */
static ssize_t send_tls(ftp_conn *c, int dfd, int fd, off_t *off, size_t want,
                        int64_t dl)
{
    char *buf = malloc(want);
    if (!buf)
        return -ENOMEM;
    ssize_t n = pread(fd, buf, want, *off);
    if (n < 0)
        n = -errno;
    ssize_t w = n > 0 ? ftp_data_write(c, dfd, buf, (size_t)n, dl) : 0;
    if (w < 0)
        n = w;
    if (n > 0)
        *off += n;
    free(buf);
    return n;
}

static int send_file(ftp_conn *c, int dfd, int fd, int64_t offset, int64_t size,
                     progress_t *pg, progress_item_t *it, char *err,
                     size_t errlen)
{
    off_t off = (off_t)offset;
    while (off < size) {
        int64_t dl = c->timeout_ms < 0 ? -1 : cio_deadline_in(c->timeout_ms);
        size_t want = (size_t)(size - off) < SEND_CHUNK ? (size_t)(size - off)
                                                        : SEND_CHUNK;
        ssize_t n = c->data_tls ? send_tls(c, dfd, fd, &off, want, dl)
                                : cio_fd_sendfile(dfd, fd, &off, want, dl);
        if (n <= 0) {
            int rc = n == 0 ? -EIO : (int)n; /* 0: the file shrank */
            snprintf(err, errlen, "data connection: %s",
                     n == 0 ? "local file shrank" : cio_strerror(rc));
            return rc;
        }
        progress_advance(pg, it, n);
    }
    return 0;
}

/* MFMT (a common extension): lets a later mirror see the file is current.
 * A server without it just keeps its own time. */
static void set_remote_mtime(ftp_conn *c, const char *path, int64_t mtime)
{
    struct tm tm;
    time_t t = (time_t)mtime;
    char stamp[32];
    if (gmtime_r(&t, &tm) && strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm))
        ftp_cmd(c, "MFMT %s %s", stamp, path);
}

static int do_put(ftp_conn *c, const xfer_job *job, const ftp_opts *o,
                  progress_t *pg, char *err, size_t errlen)
{
    int fd = cio_file_open(job->local, O_RDONLY | O_CLOEXEC, 0, -1);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        close(fd);
        fd = -EISDIR;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot read %s: %s", job->local,
                 cio_strerror(fd));
        progress_end(pg, NULL, false, NULL);
        return fd;
    }
    int64_t size = st.st_size, offset = 0, remote_size;
    if (job->size < 0)
        progress_expect(pg, 0, size);
    if (o->resume && ftp_size(c, job->remote, &remote_size) == 0 &&
        remote_size <= size) {
        if (remote_size == size) {
            close(fd);
            progress_skip(pg, size);
            return 0;
        }
        offset = remote_size;
    }
    int dfd = ftp_data_begin(c, offset, "STOR %s", job->remote);
    /* REST refused, or STOR refusing it (554, RFC 959): append instead,
     * at the size SIZE gave; without APPE either, send it all again */
    if (offset > 0 && (dfd == -ENOTSUP || (dfd == -EPROTO && c->code == 554)))
        dfd = ftp_data_begin(c, 0, "APPE %s", job->remote);
    if (offset > 0 && dfd == -EPROTO && c->code / 100 == 5) {
        offset = 0;
        dfd = ftp_data_begin(c, 0, "STOR %s", job->remote);
    }
    progress_item_t *it = progress_begin(pg, job->remote, size, offset);
    int rc = dfd == -ENODATA ? 0 : dfd;
    if (dfd < 0 && dfd != -ENODATA)
        snprintf(err, errlen, "%s", ftp_strerror(c, dfd));
    if (dfd >= 0) {
        rc = send_file(c, dfd, fd, offset, size, pg, it, err, errlen);
        ftp_data_close(c, dfd, rc == 0);
        if (rc < 0)
            ftp_drop(c);
        else if ((rc = ftp_data_end(c)) < 0)
            snprintf(err, errlen, "%s", ftp_strerror(c, rc));
    }
    if (rc == 0 && job->mtime >= 0)
        set_remote_mtime(c, job->remote, job->mtime);
    close(fd);
    progress_end(pg, it, rc == 0, offset > 0 ? "resumed" : NULL);
    return rc;
}

int xfer_run(ftp_conn *c, const xfer_job *job, const ftp_opts *o,
             progress_t *pg, char *err, size_t errlen)
{
    err[0] = '\0';
    int rc = ftp_binary(c);
    if (rc < 0) {
        snprintf(err, errlen, "TYPE I: %s", ftp_strerror(c, rc));
        progress_end(pg, NULL, false, NULL);
        return rc;
    }
    return job->kind == XFER_GET ? do_get(c, job, o, pg, err, errlen)
                                 : do_put(c, job, o, pg, err, errlen);
}

/* ---- the engine ---- */

static void report(xfer_engine *e, const xfer_job *job, const char *why)
{
    char url[4600];
    url_format(job->site, job->remote, url, sizeof url);
    if (job->kind == XFER_GET)
        progress_error(e->progress, "corio-ftp: get %s: %s", url, why);
    else
        progress_error(e->progress, "corio-ftp: put %s -> %s: %s", job->local,
                       url, why);
}

static void *worker(void *arg)
{
    xfer_engine *e = arg;
    ftp_conn *c = malloc(sizeof *c);
    char *err = malloc(1024);
    if (!c || !err) {
        free(c);
        free(err);
        return NULL;
    }
    ftp_init(c, e->opts->timeout_ms, e->opts->active, e->opts->verbose);
    const ftp_site *site = NULL; /* what c is logged in to */
    void *item;
    while (cio_queue_get(e->queue, &item, -1) == 0) {
        xfer_job *job = item;
        int rc = 0;
        if (!site || !site_same(site, job->site) || !ftp_alive(c)) {
            ftp_quit(c);
            site = NULL;
            rc = xfer_connect(c, job->site, e->opts, err, 1024);
            if (rc == 0)
                site = job->site;
            else
                progress_end(e->progress, NULL, false, NULL);
        }
        if (rc == 0)
            rc = xfer_run(c, job, e->opts, e->progress, err, 1024);
        if (rc < 0) {
            e->failed++;
            report(e, job, err[0] ? err : cio_strerror(rc));
        } else {
            e->succeeded++;
        }
        xfer_job_free(job);
    }
    ftp_quit(c);
    free(c);
    free(err);
    return NULL;
}

int xfer_engine_start(xfer_engine *e, const ftp_opts *o, progress_t *pg)
{
    memset(e, 0, sizeof *e);
    e->opts = o;
    e->progress = pg;
    int rc = cio_queue_new(&e->queue, 0);
    if (rc < 0)
        return rc;
    rc = cio_pool_new(&e->pool, (size_t)o->jobs);
    if (rc < 0) {
        cio_queue_free(e->queue);
        return rc;
    }
    for (int i = 0; i < o->jobs; i++) {
        rc = cio_pool_spawn(e->pool, NULL, worker, e, -1);
        if (rc < 0)
            break;
        e->workers++;
    }
    return e->workers > 0 ? 0 : rc;
}

int xfer_engine_submit(xfer_engine *e, xfer_job *job)
{
    progress_expect(e->progress, 1, job->size);
    return xfer_engine_enqueue(e, job);
}

int xfer_engine_enqueue(xfer_engine *e, xfer_job *job)
{
    int rc = cio_queue_put(e->queue, job, -1);
    if (rc < 0)
        xfer_job_free(job);
    return rc;
}

int xfer_engine_finish(xfer_engine *e)
{
    cio_queue_close(e->queue);
    cio_pool_join(e->pool, -1);
    cio_pool_free(e->pool);
    cio_queue_free(e->queue);
    e->pool = NULL;
    e->queue = NULL;
    return e->failed;
}
