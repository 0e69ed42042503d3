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
#include <time.h>

/* The roots already swept by this process, shared by the workers. */
struct partial_swept {
    pthread_mutex_t lock;    /* guards paths */
    char **paths;            /* roots swept or being swept */
    size_t n;                /* entries in paths */
    struct timespec started; /* the process's start: older temps are stale */
};

/* True when a component of the virtual path `vpath` is a name the server
 * owns (an upload's temporary file). */
bool partial_reserved(const char *vpath);

/* Once per process and root directory `dir`: start a detached thread that
 * walks the tree and removes the temporary files of uploads older than
 * sw->started (left by a server that was killed). The walk never follows
 * symlinks. 0 or -errno. */
int partial_sweep_start(struct partial_swept *sw, const char *dir);

/* Frees the list (at exit). */
void partial_swept_free(struct partial_swept *sw);

#endif
