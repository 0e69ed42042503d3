/* Replies on the control connection, which the session task and a
 * transfer task share (the write lock orders them), and the reply codes and
 * texts for errors. */
#include "reply.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftpd.h"

int64_t ctl_deadline(struct ftp_session *s)
{
    /* Without its session task, a transfer is killed: no waiting. */
    if (!s->srv)
        return cio_hub_now();
    return cio_deadline_in(s->srv->cfg->idle_timeout_ms);
}

int reply_raw(struct ftp_session *s, const char *text, size_t len)
{
    int rc = 0;
    if (s->wlock && (rc = cio_lock_acquire(s->wlock, ctl_deadline(s))) < 0)
        goto out;
    ssize_t n = ftps_secure(s)
                    ? ftps_ctl_write(s, text, len, ctl_deadline(s))
                    : cio_fd_write_all(s->ctl, text, len, ctl_deadline(s));
    rc = n < 0 ? (int)n : 0;
    if (s->wlock)
        cio_lock_release(s->wlock);
out:
    if (rc < 0)
        s->quit = true; /* the client cannot hear us: end the session */
    return rc;
}

int reply(struct ftp_session *s, int code, const char *fmt, ...)
{
    char buf[512], *text = buf;
    va_list ap;
    int head = snprintf(buf, sizeof(buf), "%03d ", code);
    va_start(ap, fmt);
    int n = vsnprintf(buf + head, sizeof(buf) - (size_t)head - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)(head + n + 2) >= sizeof(buf)) {
        /* Long replies (paths near PATH_MAX) are rare: allocate them. */
        if (!(text = malloc((size_t)(head + n + 3))))
            return -ENOMEM;
        memcpy(text, buf, (size_t)head);
        va_start(ap, fmt);
        vsnprintf(text + head, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    /* A reply line must not be split by a CR or LF from a file name. */
    for (int i = head; i < head + n; i++)
        if (text[i] == '\r' || text[i] == '\n')
            text[i] = ' ';
    memcpy(text + head + n, "\r\n", 2);
    int rc = reply_raw(s, text, (size_t)(head + n + 2));
    if (text != buf)
        free(text);
    return rc;
}

const char *ftp_strerror(int err)
{
    switch (-err) {
    case ENOENT:
        return "No such file or directory.";
    case EACCES:
    case EPERM:
        return "Permission denied.";
    case EEXIST:
        return "File exists.";
    case ENOTDIR:
        return "Not a directory.";
    case EISDIR:
        return "Is a directory.";
    case ENOTEMPTY:
        return "Directory not empty.";
    case EXDEV:
        return "Path leads outside the root.";
    case ENAMETOOLONG:
        return "File name too long.";
    case ELOOP:
        return "Too many symbolic links.";
    case EBUSY:
        return "Not allowed on the root directory.";
    case ENOSPC:
        return "No space left on device.";
    case EDQUOT:
        return "Quota exceeded.";
    case EROFS:
        return "Read-only file system.";
    case EINVAL:
        return "Invalid argument.";
    default:
        return "Requested action not taken.";
    }
}

void reply_fs_error(struct ftp_session *s, int err, const char *vpath)
{
    if (err == -ENODEV) /* vfs_open_regular: a FIFO, device or directory */
        reply(s, 550, "%s: not a regular file.", vpath);
    else
        reply(s, 550, "%s: %s", vpath, ftp_strerror(err));
}

void reply_local_error(struct ftp_session *s, int err)
{
    if (err == -ENOSPC)
        reply(s, 452, "Insufficient storage space; upload discarded.");
    else if (err == -EDQUOT || err == -EFBIG)
        reply(s, 552, "Exceeded storage allocation; upload discarded.");
    else
        reply(s, 451, "Local error: %s.", cio_strerror(err));
}
