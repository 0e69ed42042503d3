/* Files the server owns inside the served trees: the hidden temporary file
 * of each upload in progress (`.NAME.XXXXXX.part`, see vfs_mktemp()) and
 * the kept data of cut uploads (under `/.corio-partial`, see docs/ftpd.md).
 * Clients never name them, listings never show them, and what a crashed
 * server left behind is removed in the background. */
#ifndef FTPD_PARTIAL_H
#define FTPD_PARTIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

struct ftp_session;
struct vfs;

/* The roots already swept by this process, shared by the workers. */
struct partial_swept {
    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t wake;     /* wakes the expiry thread to stop */
    char **paths;            /* roots swept or being swept */
    size_t n;                /* entries in paths */
    struct timespec started; /* the process's start: older temps are stale */
    int64_t lifetime_s;      /* kept data idle this long is removed */
    bool expiring;           /* the expiry thread runs */
    bool stop;               /* the expiry thread should end */
    pthread_t expirer;       /* that thread, joined by partial_swept_free */
};

/* Sets sw up: no roots yet, the start time is now, kept data idle for
 * lifetime_s goes (0: all of it). */
void partial_swept_init(struct partial_swept *sw, int64_t lifetime_s);

/* True when a component of the virtual path `vpath` is a name the server
 * owns (an upload's temporary file, or VFS_KEPT_DIR). */
bool partial_reserved(const char *vpath);

/* Once per process and root directory `dir`: start a detached thread that
 * walks the tree and removes the temporary files of uploads older than
 * sw->started (left by a server that was killed) and kept data of cut
 * uploads idle for more than sw->lifetime_s. The walk never follows
 * symlinks. The first call also starts a thread that removes expired kept
 * data of every root swept so far, every lifetime/2 (1 s to 10 min).
 * 0 or -errno. */
int partial_sweep_start(struct partial_swept *sw, const char *dir);

/* Stops the expiry thread and frees the list (at exit). */
void partial_swept_free(struct partial_swept *sw);

/* ---- kept data of cut uploads (one file per user and target path) ---- */

/* What a cut of an upload into kept data does, from the settings at its
 * start (a SIGHUP may come in between). */
struct partial_limits {
    int64_t quota;      /* the user's kept bytes on the root, at most */
    int64_t lifetime_s; /* kept data idle this long goes */
    bool sync;          /* fsync kept data at the cut (fsync file|full) */
};

/* Opens the kept file of s's upload to `vpath`, locked for this upload
 * (flock), into *st; `create` makes it (empty) when missing, and empties it
 * when present (a fresh STOR). Its virtual path goes to `kpath`
 * (VFS_PATH_MAX), the limits for its cut to *lim. Expired kept files of
 * the user go first. Returns the fd;
 * -ENOENT when there is none or keeping does not apply (anonymous, ASCII,
 * keeping off, another file system): the caller uploads the usual way;
 * -EBUSY when another upload of it by the same user runs. */
int partial_open(struct ftp_session *s, const char *vpath, bool create,
                 char *kpath, struct stat *st, struct partial_limits *lim);

/* The size of s's kept data for `vpath` (what SIZE tells the uploader), or
 * -ENOENT. Only for users with the write right on `vpath`. */
int partial_size(struct ftp_session *s, const char *vpath, off_t *size);

/* A cut upload: keeps the first `len` bytes of the kept file `fd` at
 * `kpath`, fewer when the user's other kept files and these would pass
 * lim->quota bytes, and none (the file is removed) when nothing fits. The
 * lifetime counts from now. Returns the bytes kept. */
off_t partial_keep(const struct vfs *v, const char *kpath, int fd, off_t len,
                   const struct partial_limits *lim);

#endif
