/* Walks a directory (or one entry) and formats each line of a LIST, NLST,
 * MLSD, MLST or STAT reply with listing.c, handing lines to a callback so
 * that the data connection and the control connection share one walk. */
#include "dirlist.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "listing.h"

/* Formats one entry into buf; length, 0 to skip it, or -errno. */
static int format_entry(const struct dirlist *d, char *buf, size_t len,
                        const char *name, const struct stat *st)
{
    switch (d->kind) {
    case DIRLIST_NLST: {
        const char *pre = d->pattern && d->prefix ? d->prefix : "";
        int n = snprintf(buf, len, "%s%s", pre, name);
        return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
    }
    case DIRLIST_MLSD:
    case DIRLIST_MLST:
        return listing_mlsx_facts_sel(buf, len, name, st, NULL, d->may,
                                      d->hide);
    default:
        return listing_ls_line(buf, len, name, st, time(NULL));
    }
}

static bool wanted(const struct dirlist *d, const char *name)
{
    if (!listing_name_ok(name) || vfs_is_temp_name(name))
        return false;
    if (!strcmp(name, ".") || !strcmp(name, ".."))
        return d->all && d->kind == DIRLIST_LIST;
    if (name[0] == '.' && !d->pattern)
        return d->all || d->kind == DIRLIST_MLSD;
    /* A glob's leading dot matches only a dot (FNM_PERIOD), as in sh. */
    return !d->pattern || fnmatch(d->pattern, name, FNM_PERIOD) == 0;
}

int dirlist_entry(const struct dirlist *d, const char *vpath)
{
    struct stat st;
    char line[DIRLIST_LINE_MAX];
    int rc = d->kind == DIRLIST_LIST ? vfs_lstat(d->vfs, vpath, &st)
                                     : vfs_stat(d->vfs, vpath, &st);
    if (rc < 0)
        return rc;
    const char *base = strrchr(vpath, '/');
    const char *name =
        d->kind == DIRLIST_LIST && base && base[1] ? base + 1 : vpath;
    int n = format_entry(d, line, sizeof(line), name, &st);
    if (n <= 0)
        return n;
    return d->emit(d->ctx, line, (size_t)n);
}

int dirlist_dir(const struct dirlist *d, DIR *dir)
{
    char *line = malloc(DIRLIST_LINE_MAX);
    struct dirent *e;
    int rc = line ? 0 : -ENOMEM, matched = 0;
    while (rc >= 0 && (errno = 0, e = readdir(dir)) != NULL) {
        struct stat st;
        if (!wanted(d, e->d_name))
            continue;
        if (d->pattern && ++matched > DIRLIST_GLOB_MAX) {
            free(line);
            return DIRLIST_MORE;
        }
        if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue; /* removed since readdir: leave it out */
        int n = format_entry(d, line, DIRLIST_LINE_MAX, e->d_name, &st);
        if (n > 0)
            rc = d->emit(d->ctx, line, (size_t)n);
    }
    if (rc >= 0 && errno)
        rc = -errno;
    free(line);
    return rc < 0 ? rc : 0;
}
