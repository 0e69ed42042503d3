/* The path jail's portable resolver, for kernels without openat2(2): a
 * walk of one component at a time, which opens each step with O_NOFOLLOW,
 * reads symlinks from the fd it opened, and checks every `..` against the
 * directories it came through, so a tree changing under it can make a
 * lookup fail but never leave the root. */
#include "vfs_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Symlinks followed in one lookup before ELOOP (the kernel's limit). */
#define VFS_MAX_LINKS 40

struct dir_id {
    dev_t dev; /* device of a directory we went through */
    ino_t ino; /* and its inode: checked again when `..` comes back to it */
};

struct walk {
    int fd;             /* O_PATH fd of the current directory */
    struct dir_id *ids; /* identities from the root (ids[0]) down to fd */
    size_t depth;       /* entries used in ids */
    size_t cap;         /* entries allocated in ids */
    char *path;         /* what remains to resolve (VFS_PATH_MAX bytes) */
    char *spare;        /* the other buffer, for splicing in link targets */
    int links;          /* symlinks followed so far */
};

static int walk_push(struct walk *w, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        struct dir_id *ids = realloc(w->ids, cap * sizeof *ids);
        if (!ids)
            return -ENOMEM;
        w->ids = ids;
        w->cap = cap;
    }
    w->ids[w->depth].dev = st.st_dev;
    w->ids[w->depth].ino = st.st_ino;
    w->depth++;
    return 0;
}

/* Step into `fd` (a directory just opened under w->fd). */
static int walk_enter(struct walk *w, int fd)
{
    int r = walk_push(w, fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    close(w->fd);
    w->fd = fd;
    return 0;
}

/* `..`: back to the directory we came from, verified by identity. */
static int walk_up(struct walk *w)
{
    struct stat st;
    if (w->depth <= 1)
        return -EXDEV; /* above the root, as RESOLVE_BENEATH says */
    int fd = openat(w->fd, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    const struct dir_id *want = &w->ids[w->depth - 2];
    if (fstat(fd, &st) < 0 || st.st_dev != want->dev ||
        st.st_ino != want->ino) {
        close(fd); /* moved while we looked: refuse rather than guess */
        return -EXDEV;
    }
    close(w->fd);
    w->fd = fd;
    w->depth--;
    return 0;
}

/* Replace the remaining path by `target` + "/" + `rest`. */
static int walk_follow(struct walk *w, const char *target, const char *rest)
{
    if (++w->links > VFS_MAX_LINKS)
        return -ELOOP;
    if (target[0] == '/')
        return -EXDEV; /* absolute links lead out of the jail by definition */
    if (target[0] == '\0')
        return -ENOENT;
    int n = snprintf(w->spare, VFS_PATH_MAX, "%s/%s", target, rest);
    if (n < 0 || n >= VFS_PATH_MAX)
        return -ENAMETOOLONG;
    char *t = w->path;
    w->path = w->spare;
    w->spare = t;
    return 0;
}

/* Read the link `name` under `dirfd` (or `fd` itself when name is "") and
 * follow it. */
static int walk_readlink(struct walk *w, int dirfd, const char *name,
                         const char *rest)
{
    char target[VFS_PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
    if (n < 0)
        return -errno;
    target[n] = '\0';
    return walk_follow(w, target, rest);
}

/* Open the last component: with O_NOFOLLOW, and if it was a symlink that the
 * caller wants followed, splice its target in. Returns an fd, -errno, or
 * INT32_MIN to mean "go on walking". */
#define WALK_AGAIN INT32_MIN
static int walk_last(struct walk *w, const char *name, const char *rest,
                     int flags, mode_t mode)
{
    int follow = !(flags & O_NOFOLLOW);
    int fd = openat(w->fd, name, flags | O_NOFOLLOW, mode);
    if (fd >= 0) {
        struct stat st;
        if (!(flags & O_PATH) || !follow)
            return fd;
        if (fstat(fd, &st) < 0 || !S_ISLNK(st.st_mode))
            return fd; /* O_PATH|O_NOFOLLOW opens a link itself */
        int r = walk_readlink(w, fd, "", rest);
        close(fd);
        return r < 0 ? r : WALK_AGAIN;
    }
    int err = errno;
    if (follow && (err == ELOOP || err == ENOTDIR)) {
        int r = walk_readlink(w, w->fd, name, rest);
        if (r == -EINVAL)
            return -err; /* not a link: the open's own error stands */
        return r < 0 ? r : WALK_AGAIN;
    }
    return -err;
}

/* One component that is not the last: must be a directory or a link. */
static int walk_middle(struct walk *w, const char *name, const char *rest)
{
    struct stat st;
    int fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (S_ISDIR(st.st_mode))
        return walk_enter(w, fd);
    int r = S_ISLNK(st.st_mode) ? walk_readlink(w, fd, "", rest) : -ENOTDIR;
    close(fd);
    return r;
}

/* The path ended on a directory we hold (the root, `.` or `..`). */
static int open_here(struct walk *w, int flags, mode_t mode)
{
    if (flags & O_CREAT && flags & O_EXCL)
        return -EEXIST;
    int fd = openat(w->fd, ".", flags & ~O_CREAT, mode);
    return fd < 0 ? -errno : fd;
}

static int walk_run(struct walk *w, int flags, mode_t mode)
{
    for (;;) {
        char *p = w->path;
        while (*p == '/')
            p++;
        char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - p);
        char *rest = end;
        while (*rest == '/')
            rest++;
        int last = *rest == '\0';
        char name[NAME_MAX + 1];
        int r;

        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        memcpy(name, p, len);
        name[len] = '\0';
        if (len == 0)
            strcpy(name, ".");
        /* Consume the component before any splice rewrites the buffer. */
        memmove(w->path, rest, strlen(rest) + 1);
        rest = w->path;

        if (strcmp(name, "..") == 0) {
            if ((r = walk_up(w)) < 0)
                return r;
            if (last)
                return open_here(w, flags, mode);
            continue;
        }
        if (strcmp(name, ".") == 0) {
            if (last)
                return open_here(w, flags, mode);
            continue;
        }
        if (!last) {
            if ((r = walk_middle(w, name, rest)) < 0)
                return r;
            continue;
        }
        r = walk_last(w, name, rest, flags, mode);
        if (r != WALK_AGAIN)
            return r;
    }
}

int vfs_walk_open(const struct vfs *v, const char *rel, int flags, mode_t mode)
{
    struct walk w = {.fd = -1};
    int r = -ENOMEM;

    w.path = malloc(VFS_PATH_MAX);
    w.spare = malloc(VFS_PATH_MAX);
    if (!w.path || !w.spare)
        goto out;
    snprintf(w.path, VFS_PATH_MAX, "%s", rel);
    w.fd = openat(v->root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (w.fd < 0) {
        r = -errno;
        goto out;
    }
    if ((r = walk_push(&w, w.fd)) < 0)
        goto out;
    r = walk_run(&w, flags, mode);
out:
    if (w.fd >= 0)
        close(w.fd);
    free(w.ids);
    free(w.path);
    free(w.spare);
    return r;
}
