/* Server-owned files in the served trees: see partial.h. */
#include "partial.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftpd.h"

/* Deepest directory the sweep enters (each level holds one fd). */
#define SWEEP_DEPTH 64

bool partial_reserved(const char *vpath)
{
    char name[NAME_MAX + 1];
    const char *p = vpath;
    while (*p) {
        while (*p == '/')
            p++;
        size_t n = strcspn(p, "/");
        if (n > 0 && n <= NAME_MAX) {
            memcpy(name, p, n);
            name[n] = '\0';
            if (vfs_is_temp_name(name))
                return true;
        }
        p += n;
    }
    return false;
}

struct sweep {
    char *dir;               /* the root */
    struct timespec started; /* temporaries older than this are stale */
    int64_t lifetime_s;      /* kept data idle this long goes */
};

static bool older(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* A DIR for the directory fd dfd, which is closed on failure. */
static DIR *dir_of(int dfd)
{
    DIR *d = fdopendir(dfd);
    if (!d)
        close(dfd);
    return d;
}

/* Whether an upload holds `name` under dfd (flock); when not and `remove`,
 * removes it. */
static bool held(int dfd, const char *name, bool remove)
{
    int fd = openat(dfd, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool busy = flock(fd, LOCK_EX | LOCK_NB) < 0;
    if (!busy && remove)
        unlinkat(dfd, name, 0);
    close(fd);
    return busy;
}

/* The kept files of one user (directory dfd, consumed): removes those idle
 * for lifetime_s or more (unless an upload holds them). With `skip` (a
 * name), returns the bytes of the others, neither `skip` nor uploads still
 * running counted: what the user's quota holds. */
static int64_t scan_kept(int dfd, int64_t lifetime_s, const char *skip)
{
    DIR *d = dir_of(dfd);
    struct dirent *e;
    int64_t bytes = 0;
    if (!d)
        return 0;
    time_t now = time(NULL);
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (st.st_mtime + lifetime_s <= now)
            held(dirfd(d), e->d_name, true);
        else if (skip && strcmp(skip, e->d_name) &&
                 !held(dirfd(d), e->d_name, false))
            bytes += st.st_size;
    }
    closedir(d);
    return bytes;
}

/* VFS_KEPT_DIR at a root: one directory per user. */
static void sweep_users(const struct sweep *w, int dfd)
{
    DIR *d = dir_of(dfd);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int fd = openat(dirfd(d), e->d_name,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0)
            scan_kept(fd, w->lifetime_s, NULL);
    }
    closedir(d);
}

static void sweep_dir(const struct sweep *w, int dfd, int depth)
{
    DIR *d = dir_of(dfd);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") ||
            fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) && vfs_is_temp_name(n) &&
            strcmp(n, VFS_KEPT_DIR) && older(&st.st_mtim, &w->started)) {
            unlinkat(dirfd(d), n, 0);
            continue;
        }
        if (!S_ISDIR(st.st_mode) || depth >= SWEEP_DEPTH)
            continue;
        int sub = openat(dirfd(d), n,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;
        if (depth == 0 && !strcmp(n, VFS_KEPT_DIR))
            sweep_users(w, sub);
        else
            sweep_dir(w, sub, depth + 1);
    }
    closedir(d);
}

static void *sweep_main(void *arg)
{
    struct sweep *w = arg;
    int fd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        sweep_dir(w, fd, 0);
    free(w->dir);
    free(w);
    return NULL;
}

/* Records dir in sw; false if it was there already. */
static int remember(struct partial_swept *sw, const char *dir)
{
    int rc = 1;
    pthread_mutex_lock(&sw->lock);
    for (size_t i = 0; i < sw->n && rc == 1; i++)
        if (!strcmp(sw->paths[i], dir))
            rc = 0;
    if (rc == 1) {
        char **p = realloc(sw->paths, (sw->n + 1) * sizeof(*p));
        if (p)
            sw->paths = p;
        if (!p || !(p[sw->n] = strdup(dir)))
            rc = -ENOMEM;
        else
            sw->n++;
    }
    pthread_mutex_unlock(&sw->lock);
    return rc;
}

/* Every so often, the expired kept data of every root swept so far. */
static void *expire_main(void *arg)
{
    struct partial_swept *sw = arg;
    struct sweep w = {.lifetime_s = sw->lifetime_s};
    int64_t every = sw->lifetime_s / 2;
    every = every < 1 ? 1 : every > 600 ? 600 : every;
    pthread_mutex_lock(&sw->lock);
    while (!sw->stop) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_sec += every;
        while (!sw->stop &&
               pthread_cond_timedwait(&sw->wake, &sw->lock, &t) == 0)
            ;
        for (size_t i = 0; !sw->stop && i < sw->n; i++) {
            char kept[VFS_PATH_MAX];
            snprintf(kept, sizeof(kept), "%s/%s", sw->paths[i], VFS_KEPT_DIR);
            pthread_mutex_unlock(&sw->lock); /* no lock held on the disk */
            int fd =
                open(kept, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0)
                sweep_users(&w, fd);
            pthread_mutex_lock(&sw->lock);
        }
    }
    pthread_mutex_unlock(&sw->lock);
    return NULL;
}

void partial_swept_init(struct partial_swept *sw, int64_t lifetime_s)
{
    memset(sw, 0, sizeof(*sw));
    pthread_mutex_init(&sw->lock, NULL);
    pthread_cond_init(&sw->wake, NULL);
    clock_gettime(CLOCK_REALTIME, &sw->started);
    sw->lifetime_s = lifetime_s;
}

/* pthread_create with every signal blocked in the new thread: the
 * server's signals (SIGTERM, SIGHUP) go to the threads that handle them. */
static int spawn(pthread_t *t, bool detached, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    pthread_attr_t attr;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    pthread_attr_init(&attr);
    if (detached)
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = -pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Starts the expiry thread once, when kept data has a lifetime. */
static void start_expiry(struct partial_swept *sw)
{
    pthread_mutex_lock(&sw->lock);
    if (!sw->expiring && sw->lifetime_s > 0)
        sw->expiring = spawn(&sw->expirer, false, expire_main, sw) == 0;
    pthread_mutex_unlock(&sw->lock);
}

int partial_sweep_start(struct partial_swept *sw, const char *dir)
{
    int rc = remember(sw, dir);
    if (rc <= 0)
        return rc;
    start_expiry(sw);
    struct sweep *w = calloc(1, sizeof(*w));
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return -ENOMEM;
    }
    w->started = sw->started;
    w->lifetime_s = sw->lifetime_s;
    pthread_t t;
    if ((rc = spawn(&t, true, sweep_main, w)) < 0) {
        free(w->dir);
        free(w);
    }
    return rc;
}

void partial_swept_free(struct partial_swept *sw)
{
    pthread_mutex_lock(&sw->lock);
    sw->stop = true;
    pthread_cond_broadcast(&sw->wake);
    bool join = sw->expiring;
    sw->expiring = false;
    pthread_mutex_unlock(&sw->lock);
    if (join)
        pthread_join(sw->expirer, NULL);
    for (size_t i = 0; i < sw->n; i++)
        free(sw->paths[i]);
    free(sw->paths);
    sw->paths = NULL;
    sw->n = 0;
    pthread_cond_destroy(&sw->wake);
    pthread_mutex_destroy(&sw->lock);
}

/* ---- kept data of cut uploads ------------------------------------------ */

/* Whether s's uploads are kept when cut: named users, binary, keeping on. */
static bool keeps(struct ftp_session *s)
{
    const struct ftpd_config *cfg = s->srv->cfg;
    return cfg->resume_life_ms > 0 && cfg->resume_quota_mib > 0 && s->user &&
           !s->user->anonymous && !s->ascii;
}

/* "/.corio-partial/USER" into dir and, with the FNV-1a hash of vpath as
 * the name, the kept file's path into kpath (both VFS_PATH_MAX). */
static void kept_paths(struct ftp_session *s, const char *vpath, char *dir,
                       char *kpath)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)vpath; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    /* User names are at most AUTH_NAME_MAX bytes: both fit. */
    snprintf(dir, VFS_PATH_MAX, "/%s/%s", VFS_KEPT_DIR, s->user->name);
    snprintf(kpath, VFS_PATH_MAX, "/%s/%s/%016llx", VFS_KEPT_DIR, s->user->name,
             (unsigned long long)h);
}

static int64_t lifetime_s(struct ftp_session *s)
{
    return (s->srv->cfg->resume_life_ms + 999) / 1000;
}

/* Opens the user's kept directory `dir` (making it when `create`), removes
 * the expired files there and gives its device in *dev. 0 or -errno. */
static int user_dir(struct ftp_session *s, const char *dir, bool create,
                    dev_t *dev)
{
    struct stat st;
    int fd = vfs_open(s->vfs, dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd == -ENOENT && create) {
        vfs_mkdir(s->vfs, "/" VFS_KEPT_DIR, 0700);
        vfs_mkdir(s->vfs, dir, 0700);
        fd = vfs_open(s->vfs, dir, O_RDONLY | O_DIRECTORY, 0);
    }
    if (fd < 0)
        return fd;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -EIO;
    }
    *dev = st.st_dev;
    scan_kept(fd, lifetime_s(s), NULL);
    return 0;
}

/* True when vpath's directory is on device dev, so that the commit from
 * the kept directory is a rename. */
static bool on_dev(struct ftp_session *s, const char *vpath, dev_t dev)
{
    char name[NAME_MAX + 1];
    struct stat st;
    int fd = vfs_open_parent(s->vfs, vpath, name);
    if (fd < 0)
        return false;
    int rc = fstat(fd, &st);
    close(fd);
    return rc == 0 && st.st_dev == dev;
}

int partial_open(struct ftp_session *s, const char *vpath, bool create,
                 char *kpath, struct stat *st, struct partial_limits *lim)
{
    char dir[VFS_PATH_MAX];
    const struct ftpd_config *cfg = s->srv->cfg;
    if (!keeps(s))
        return -ENOENT;
    lim->quota = (int64_t)cfg->resume_quota_mib << 20;
    lim->lifetime_s = lifetime_s(s);
    lim->sync = cfg->fsync != FTPD_FSYNC_NONE;
    kept_paths(s, vpath, dir, kpath);
    dev_t dev;
    if (user_dir(s, dir, create, &dev) < 0 || !on_dev(s, vpath, dev))
        return -ENOENT;
    int fd = vfs_open_regular(s->vfs, kpath, O_RDWR | (create ? O_CREAT : 0),
                              0666, st);
    if (fd < 0)
        return -ENOENT;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno == EWOULDBLOCK ? -EBUSY : -ENOENT;
        close(fd);
        return err;
    }
    if (create && ftruncate(fd, 0) < 0) {
        close(fd);
        return -ENOENT;
    }
    if (create)
        st->st_size = 0;
    return fd;
}

int partial_size(struct ftp_session *s, const char *vpath, off_t *size)
{
    char dir[VFS_PATH_MAX], kpath[VFS_PATH_MAX];
    struct stat st;
    if (!keeps(s) || !ftp_user_allows(s->user, FTP_PERM_WRITE, vpath))
        return -ENOENT;
    kept_paths(s, vpath, dir, kpath);
    dev_t dev;
    if (user_dir(s, dir, false, &dev) < 0 || vfs_stat(s->vfs, kpath, &st) < 0 ||
        !S_ISREG(st.st_mode))
        return -ENOENT;
    *size = st.st_size;
    return 0;
}

off_t partial_keep(const struct vfs *v, const char *kpath, int fd, off_t len,
                   const struct partial_limits *lim)
{
    int64_t quota = lim->quota;
    char dir[VFS_PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", kpath);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    int dfd = vfs_open(v, dir, O_RDONLY | O_DIRECTORY, 0);
    int64_t others = dfd >= 0 ? scan_kept(dfd, lim->lifetime_s, slash + 1) : 0;
    if (len > quota - others)
        len = quota - others > 0 ? (off_t)(quota - others) : 0;
    if (len > 0 && ftruncate(fd, len) == 0) {
        futimens(fd, NULL); /* the lifetime counts from the cut */
        if (lim->sync)
            cio_file_fsync(fd, -1); /* on the offload pool; best effort */
        return len;
    }
    vfs_unlink(v, kpath);
    return 0;
}
