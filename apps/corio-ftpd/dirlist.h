/* Directory walks for listings, shared by the data connection (LIST, NLST,
 * MLSD) and the control connection (MLST, STAT path). */
#ifndef FTPD_DIRLIST_H
#define FTPD_DIRLIST_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>

#include "vfs.h"

#define DIRLIST_LINE_MAX (VFS_PATH_MAX + 512) /* longest formatted line */

enum dirlist_kind { DIRLIST_LIST, DIRLIST_NLST, DIRLIST_MLSD, DIRLIST_MLST };

struct dirlist {
    const struct vfs *vfs;  /* the user's jail */
    enum dirlist_kind kind; /* line format */
    bool all;               /* LIST -a: dot files too */
    unsigned may;           /* LISTING_MAY_* for the MLSx perm fact */
    unsigned hide;          /* LISTING_FACT_* left out (OPTS MLST) */
    const char *pattern;    /* dirlist_dir: only names matching this glob */
    const char *prefix;     /* NLST with a pattern: before each name */
    /* Receives each line (no line end); a negative return stops the walk. */
    int (*emit)(void *ctx, const char *line, size_t len);
    void *ctx; /* for emit */
};

/* One line for vpath itself (a file given to LIST, or MLST). 0 or -errno. */
int dirlist_entry(const struct dirlist *d, const char *vpath);

/* Names a glob lists at most: a listing's cost stays bounded. */
#define DIRLIST_GLOB_MAX 10000
#define DIRLIST_MORE 1 /* dirlist_dir: the glob matched more than that */

/* One line per entry of dir (temporary upload files left out): 0,
 * DIRLIST_MORE or -errno. */
int dirlist_dir(const struct dirlist *d, DIR *dir);

#endif
