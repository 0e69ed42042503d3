/* Transfers, each in a task of its own so that the session keeps reading
 * the control connection (ABOR, STAT) while data moves: the task opens the
 * data connection, moves the bytes (transfer.c), then commits or discards
 * an upload and sends the final reply.
 *
 * A plain STOR writes a hidden temporary file next to the target and
 * renames it onto the name only once the data connection has ended
 * cleanly, so an interrupted or failed upload never leaves a truncated file
 * behind. APPE and REST+STOR write the file in place (that is what resuming
 * means) and on ENOSPC give the file back its old length. */
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dirlist.h"
#include "reply.h"

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
        rc = transfer_move(x);
    } else if (fd >= 0) {
        cio_fd_close(fd);
    }
    finish(x, rc);
    if (x->orphan)
        xfer_free(x);
    return NULL;
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
    int rc = transfer_open(s, x, rest);
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
