/* Server-owned files in the served trees: see partial.h. */
#include "partial.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfs.h"

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
};

static bool older(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec ||
           (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static void sweep_dir(const struct sweep *w, int dfd, int depth)
{
    DIR *d = fdopendir(dfd);
    struct dirent *e;
    if (!d) {
        close(dfd);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        struct stat st;
        const char *n = e->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") ||
            fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISREG(st.st_mode) && vfs_is_temp_name(n) &&
            older(&st.st_mtim, &w->started)) {
            unlinkat(dirfd(d), n, 0);
            continue;
        }
        if (!S_ISDIR(st.st_mode) || depth >= SWEEP_DEPTH)
            continue;
        int sub = openat(dirfd(d), n,
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub < 0)
            continue;
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

int partial_sweep_start(struct partial_swept *sw, const char *dir)
{
    int rc = remember(sw, dir);
    if (rc <= 0)
        return rc;
    struct sweep *w = calloc(1, sizeof(*w));
    if (!w || !(w->dir = strdup(dir))) {
        free(w);
        return -ENOMEM;
    }
    w->started = sw->started;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = -pthread_create(&t, &attr, sweep_main, w);
    pthread_attr_destroy(&attr);
    if (rc < 0) {
        free(w->dir);
        free(w);
    }
    return rc;
}

void partial_swept_free(struct partial_swept *sw)
{
    for (size_t i = 0; i < sw->n; i++)
        free(sw->paths[i]);
    free(sw->paths);
    sw->paths = NULL;
    sw->n = 0;
}
