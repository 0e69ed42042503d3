/* Starting a transfer: open the file or directory it moves and reply 150,
 * or refuse, before its task (transfer_task.c) starts. */
#include "transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "reply.h"

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
    x->size = st.st_size;
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

int transfer_open(struct ftp_session *s, struct transfer *x, off_t rest)
{
    int rc;
    switch (x->kind) {
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
    return rc;
}
