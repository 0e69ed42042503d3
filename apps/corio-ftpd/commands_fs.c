/* Navigation and file management: PWD CWD CDUP MKD RMD DELE RNFR RNTO
 * SIZE MDTM MFMT HASH SITE CHMOD. Every path goes through the user's jail
 * (vfs) and permission bits before anything touches the disk. */
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dirlist.h"
#include "hash.h"

/* Replies 257 with vpath quoted, each '"' doubled (RFC 959). */
static void reply_257(struct ftp_session *s, const char *vpath,
                      const char *what)
{
    char *q = malloc(2 * strlen(vpath) + 1);
    size_t o = 0;
    if (!q) {
        reply(s, 451, "Out of memory.");
        return;
    }
    for (const char *p = vpath; *p; p++) {
        if (*p == '"')
            q[o++] = '"';
        q[o++] = *p;
    }
    q[o] = '\0';
    reply(s, 257, "\"%s\" %s", q, what);
    free(q);
}

void cmd_pwd(struct ftp_session *s, char *arg)
{
    reply_257(s, session_cwd(s), "is the current directory.");
}

static void change_dir(struct ftp_session *s, const char *arg)
{
    char path[VFS_PATH_MAX];
    struct stat st;
    if (session_path(s, arg, path) < 0)
        return;
    int rc = vfs_stat(s->vfs, path, &st);
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    char *cwd = NULL; /* the root is kept as NULL */
    if (strcmp(path, "/") != 0 && !(cwd = strdup(path))) {
        reply(s, 451, "Out of memory.");
        return;
    }
    free(s->cwd);
    s->cwd = cwd;
    reply(s, 250, "Directory changed to %s.", path);
}

void cmd_cwd(struct ftp_session *s, char *arg)
{
    change_dir(s, *arg ? arg : "/");
}

void cmd_cdup(struct ftp_session *s, char *arg)
{
    change_dir(s, "..");
}

void cmd_mkd(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    if (!session_target(s, arg, FTP_PERM_MKDIR, path))
        return;
    int rc = vfs_mkdir(s->vfs, path, 0777);
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    log_event(s->srv, s, "mkdir %s", path);
    reply_257(s, path, "created.");
}

void cmd_rmd(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    if (!session_target(s, arg, FTP_PERM_DELETE, path))
        return;
    int rc = vfs_rmdir(s->vfs, path);
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    log_event(s->srv, s, "rmdir %s", path);
    reply(s, 250, "Directory removed.");
}

void cmd_dele(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    struct stat st;
    if (!session_target(s, arg, FTP_PERM_DELETE, path))
        return;
    int rc = vfs_lstat(s->vfs, path, &st);
    if (rc == 0 && S_ISDIR(st.st_mode))
        rc = -EISDIR;
    if (rc == 0)
        rc = vfs_unlink(s->vfs, path);
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    log_event(s->srv, s, "delete %s", path);
    reply(s, 250, "File deleted.");
}

void cmd_rnfr(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    struct stat st;
    if (!session_target(s, arg, FTP_PERM_RENAME, path))
        return;
    int rc = vfs_lstat(s->vfs, path, &st);
    if (rc == 0 && !strcmp(path, "/"))
        rc = -EBUSY;
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    free(s->rename_from);
    if (!(s->rename_from = strdup(path))) {
        reply(s, 451, "Out of memory.");
        return;
    }
    reply(s, 350, "Ready for RNTO.");
}

void cmd_rnto(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    if (!s->rename_from) {
        reply(s, 503, "RNFR required first.");
        return;
    }
    char *from = s->rename_from;
    s->rename_from = NULL;
    if (session_target(s, arg, FTP_PERM_RENAME, path)) {
        int rc = vfs_rename(s->vfs, from, path);
        if (rc < 0) {
            reply_fs_error(s, rc, path);
        } else {
            log_event(s->srv, s, "rename %s -> %s", from, path);
            reply(s, 250, "Rename successful.");
        }
    }
    free(from);
}

/* Resolves arg and stats it as a regular file readable by the user;
 * replies and returns -1 otherwise. */
static int readable_file(struct ftp_session *s, const char *arg, char *path,
                         struct stat *st)
{
    if (!session_target(s, arg, FTP_PERM_READ, path))
        return -1;
    int rc = vfs_stat(s->vfs, path, st);
    if (rc == 0 && !S_ISREG(st->st_mode)) {
        reply_fs_error(s, -ENODEV, path);
        return -1;
    }
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return -1;
    }
    return 0;
}

/* The uploader of a cut upload learns the kept size here, which is where
 * curl -C -, lftp put -c and REST-based clients resume (see partial.h). */
void cmd_size(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX];
    struct stat st;
    off_t kept;
    if (session_path(s, arg, path) < 0)
        return;
    if (partial_size(s, path, &kept) == 0)
        reply(s, 213, "%lld", (long long)kept);
    else if (readable_file(s, path, path, &st) == 0)
        reply(s, 213, "%lld", (long long)st.st_size);
}

static void format_time(time_t t, char *out, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y%m%d%H%M%S", &tm);
}

void cmd_mdtm(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX], when[32];
    struct stat st;
    if (readable_file(s, arg, path, &st) < 0)
        return;
    format_time(st.st_mtime, when, sizeof(when));
    reply(s, 213, "%s", when);
}

/* "YYYYMMDDHHMMSS[.sss]" in UTC; -1 if malformed. */
static int parse_time(const char *arg, time_t *out)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(arg, "%4d%2d%2d%2d%2d%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
        n != 14)
        return -1;
    for (const char *p = arg + 14; *p; p++)
        if (!(p == arg + 14 ? *p == '.' : (*p >= '0' && *p <= '9')))
            return -1;
    if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

void cmd_mfmt(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX], when[32];
    char *sp = strchr(arg, ' ');
    time_t t;
    if (!sp || !sp[1]) {
        reply(s, 501, "Syntax: MFMT YYYYMMDDHHMMSS path");
        return;
    }
    *sp = '\0';
    if (parse_time(arg, &t) < 0) {
        reply(s, 501, "Invalid time value.");
        return;
    }
    if (!session_target(s, sp + 1, FTP_PERM_ATTR, path))
        return;
    int rc = vfs_set_mtime(s->vfs, path, t);
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    format_time(t, when, sizeof(when));
    reply(s, 213, "Modify=%s; %s", when, path);
}

void commands_site_chmod(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX], *end;
    char *sp = strchr(arg, ' ');
    if (!sp || !sp[1]) {
        reply(s, 501, "Syntax: SITE CHMOD MODE PATH");
        return;
    }
    *sp = '\0';
    long mode = strtol(arg, &end, 8);
    if (*end || end == arg || mode < 0 || mode > 07777) {
        reply(s, 501, "Invalid mode.");
        return;
    }
    if (!session_target(s, sp + 1, FTP_PERM_ATTR, path))
        return;
    /* No client makes set-id or sticky files; the admin's umask holds. */
    if (mode & 07000) {
        reply(s, 550, "%s: setuid, setgid and sticky bits are not allowed.",
              path);
        return;
    }
    mode &= ~(long)s->srv->cfg->umask;
    int rc = vfs_chmod(s->vfs, path, (mode_t)mode);
    if (rc < 0) {
        reply_fs_error(s, rc, path);
        return;
    }
    reply(s, 200, "SITE CHMOD command ok.");
}

/* HASH reads the whole file on threads of its own (hashpool.c). */
void cmd_hash(struct ftp_session *s, char *arg)
{
    char path[VFS_PATH_MAX], hex[65];
    struct stat st;
    if (!hash_available()) {
        reply(s, 502, "HASH is not available.");
        return;
    }
    if (readable_file(s, arg, path, &st) < 0)
        return;
    int fd = vfs_open_regular(s->vfs, path, O_RDONLY, 0, &st);
    if (fd < 0) {
        reply_fs_error(s, fd, path);
        return;
    }
    int rc = hash_file(s, fd, st.st_size, hex);
    if (rc == 0)
        reply(s, 213, "SHA-256 0-%lld %s %s", (long long)st.st_size, hex, path);
    else if (cio_task_cancelled() || rc == -EPIPE)
        s->quit = true; /* shutting down, or the client left */
    else if (rc == -ECANCELED)
        reply(s, 451, "HASH aborted.");
    else if (rc == -ETIMEDOUT)
        reply(s, 451, "HASH stopped after %lld seconds.",
              (long long)(s->srv->cfg->hash_timeout_ms / 1000));
    else if (rc == -EAGAIN)
        reply(s, 450, "Too many HASH requests waiting; try again later.");
    else
        reply_fs_error(s, rc, path);
}

/* A growing reply text for listings sent on the control connection. */
struct text {
    char *buf;  /* the text */
    size_t len; /* bytes used */
    size_t cap; /* bytes allocated */
};

static int text_add(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b)
            return -ENOMEM;
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
    return 0;
}

/* Control-connection listing lines start with a space (RFC 3659 7.2). */
static int text_emit(void *ctx, const char *line, size_t len)
{
    struct text *t = ctx;
    int rc = text_add(t, " ", 1);
    if (rc == 0)
        rc = text_add(t, line, len);
    if (rc == 0)
        rc = text_add(t, "\r\n", 2);
    return rc;
}

/* Sends "CODE-head", the lines of a walk of vpath, "CODE End". */
static void control_listing(struct ftp_session *s, int code, const char *arg,
                            enum dirlist_kind kind)
{
    char path[VFS_PATH_MAX], head[64];
    struct text t = {0};
    struct dirlist d = {.vfs = s->vfs,
                        .kind = kind,
                        .may = s->user->perms,
                        .hide = s->mlst_hide,
                        .emit = text_emit,
                        .ctx = &t};
    if (!session_target(s, arg, FTP_PERM_LIST, path))
        return;
    int n = snprintf(head, sizeof(head), "%d-Listing ", code);
    int rc = text_add(&t, head, (size_t)n);
    if (rc == 0)
        rc = text_add(&t, path, strlen(path));
    if (rc == 0)
        rc = text_add(&t, "\r\n", 2);
    DIR *dir = NULL;
    if (rc == 0 && kind == DIRLIST_LIST &&
        vfs_opendir(s->vfs, path, &dir) == 0) {
        rc = dirlist_dir(&d, dir);
        closedir(dir);
    } else if (rc == 0) {
        rc = dirlist_entry(&d, path);
    }
    n = snprintf(head, sizeof(head), "%d End\r\n", code);
    if (rc == 0)
        rc = text_add(&t, head, (size_t)n);
    if (rc < 0)
        reply_fs_error(s, rc, path);
    else
        reply_raw(s, t.buf, t.len);
    free(t.buf);
}

void cmd_mlst(struct ftp_session *s, char *arg)
{
    control_listing(s, 250, arg, DIRLIST_MLST);
}

void commands_stat_path(struct ftp_session *s, char *arg)
{
    control_listing(s, 213, arg, DIRLIST_LIST);
}
