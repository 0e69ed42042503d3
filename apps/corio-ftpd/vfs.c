/* The path jail: see vfs.h. Two resolvers with the same contract: openat2(2)
 * with RESOLVE_BENEATH (the kernel checks every step, `..` and symlinks
 * included), and a walk of one component at a time for older kernels, which
 * opens each step with O_NOFOLLOW, reads symlinks from the fd it opened, and
 * checks every `..` against the directories it came through, so a tree
 * changing under it can make a lookup fail but never leave the root (that
 * walk is in vfs_walk.c). */
#include "vfs.h"
#include "vfs_walk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

/* ---- virtual path normalisation ---------------------------------------- */

/* Append the components of `p` (`len` bytes) to the normalised path in
 * `out` (`*n` bytes, "" standing for the root), collapsing `.` and `..`. */
static int push_components(char *out, size_t *n, size_t cap, const char *p,
                           size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && p[i] == '/')
            i++;
        size_t start = i;
        while (i < len && p[i] != '/')
            i++;
        size_t clen = i - start;
        if (clen == 0 || (clen == 1 && p[start] == '.'))
            continue;
        if (clen == 2 && p[start] == '.' && p[start + 1] == '.') {
            while (*n > 0 && out[*n - 1] != '/')
                (*n)--;
            if (*n > 0)
                (*n)--; /* the slash itself; "/a" -> "" */
            continue;
        }
        if (clen > NAME_MAX)
            return -ENAMETOOLONG;
        if (*n + 1 + clen + 1 > cap)
            return -ENAMETOOLONG;
        out[(*n)++] = '/';
        memcpy(out + *n, p + start, clen);
        *n += clen;
    }
    return 0;
}

static int check_bytes(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f)
            return -EINVAL;
    }
    return 0;
}

int vfs_resolve_len(const char *cwd, const char *arg, size_t arglen, char *out,
                    size_t outlen)
{
    char tmp[VFS_PATH_MAX];
    size_t cap = outlen < sizeof tmp ? outlen : sizeof tmp;
    size_t n = 0;
    int r;

    if (arg == NULL)
        arglen = 0;
    if (cwd == NULL)
        cwd = "/";
    if (cap < 2)
        return -ENAMETOOLONG;
    if ((r = check_bytes(arg, arglen)) < 0)
        return r;
    if (arglen == 0 || arg[0] != '/') {
        size_t cwdlen = strlen(cwd);
        if ((r = check_bytes(cwd, cwdlen)) < 0)
            return r;
        if ((r = push_components(tmp, &n, cap, cwd, cwdlen)) < 0)
            return r;
    }
    if ((r = push_components(tmp, &n, cap, arg, arglen)) < 0)
        return r;
    if (n == 0)
        tmp[n++] = '/';
    tmp[n] = '\0';
    memcpy(out, tmp, n + 1); /* out may alias cwd: copy only at the end */
    return 0;
}

int vfs_resolve(const char *cwd, const char *arg, char *out, size_t outlen)
{
    return vfs_resolve_len(cwd, arg, arg ? strlen(arg) : 0, out, outlen);
}

/* Normalise `vpath` into `buf` (VFS_PATH_MAX bytes). */
static int normalise(const char *vpath, char *buf)
{
    return vfs_resolve_len("/", vpath, vpath ? strlen(vpath) : 0, buf,
                           VFS_PATH_MAX);
}

/* The root-relative form of a normalised path: "." for the root. */
static const char *relative(const char *norm)
{
    return norm[1] ? norm + 1 : ".";
}

/* ---- openat2 ------------------------------------------------------------ */

static int sys_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
#ifdef SYS_openat2
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = mode;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    return fd < 0 ? -errno : (int)fd;
#else
    (void)dirfd, (void)path, (void)flags, (void)mode;
    return -ENOSYS;
#endif
}

/* ---- the operations ----------------------------------------------------- */

/* Open a normalised root-relative path with the best resolver. */
static int open_rel(const struct vfs *v, const char *rel, int flags,
                    mode_t mode)
{
    if (v->root_fd < 0)
        return -EBADF;
    flags |= O_CLOEXEC;
    if (!(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE)
        mode = 0; /* openat2 refuses a mode it would not use */
    if (!v->have_openat2)
        return vfs_walk_open(v, rel, flags, mode);
    for (int tries = 0; tries < 16; tries++) {
        int fd = sys_openat2(v->root_fd, rel, flags, mode);
        if (fd != -EAGAIN)
            return fd; /* EAGAIN: a rename raced a `..`; try again */
    }
    return -EAGAIN;
}

int vfs_open_root(struct vfs *v, const char *dir)
{
    v->root_fd = -1;
    v->have_openat2 = 0;
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    v->root_fd = fd;
    /* ENOSYS on old kernels, EPERM under some seccomp filters. */
    int probe = sys_openat2(fd, ".", O_PATH | O_CLOEXEC, 0);
    if (probe >= 0) {
        close(probe);
        v->have_openat2 = 1;
    }
    return 0;
}

void vfs_close(struct vfs *v)
{
    if (v->root_fd >= 0)
        close(v->root_fd);
    v->root_fd = -1;
}

int vfs_open(const struct vfs *v, const char *vpath, int flags, mode_t mode)
{
    char norm[VFS_PATH_MAX];
    int r = normalise(vpath, norm);
    return r < 0 ? r : open_rel(v, relative(norm), flags, mode);
}

int vfs_open_regular(const struct vfs *v, const char *vpath, int flags,
                     mode_t mode, struct stat *st)
{
    int fd = vfs_open(v, vpath, O_PATH, 0);
    if (fd >= 0) {
        int r = fstat(fd, st) < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
            return r;
        if (!S_ISREG(st->st_mode))
            return -ENODEV;
    } else if (fd != -ENOENT || !(flags & O_CREAT)) {
        return fd;
    }
    fd = vfs_open(v, vpath, flags | O_NONBLOCK, mode);
    if (fd < 0)
        return fd == -ENXIO ? -ENODEV : fd; /* a FIFO with no reader */
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        close(fd);
        return -ENODEV;
    }
    return fd;
}

/* Split the normalised `norm` at its last slash (in place) and open the
 * directory part; the last component goes to `name`. */
static int open_parent_norm(const struct vfs *v, char *norm,
                            char name[NAME_MAX + 1])
{
    char *slash = strrchr(norm, '/');
    const char *last = slash + 1;
    if (*last == '\0')
        return -EBUSY; /* the root itself */
    if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
        return -EINVAL; /* cannot happen after normalisation; be sure */
    snprintf(name, NAME_MAX + 1, "%s", last);
    *slash = '\0';
    return open_rel(v, norm[0] ? norm + 1 : ".", O_PATH | O_DIRECTORY, 0);
}

int vfs_open_parent(const struct vfs *v, const char *vpath,
                    char name[NAME_MAX + 1])
{
    char norm[VFS_PATH_MAX];
    int r = normalise(vpath, norm);
    return r < 0 ? r : open_parent_norm(v, norm, name);
}

int vfs_stat(const struct vfs *v, const char *vpath, struct stat *st)
{
    int fd = vfs_open(v, vpath, O_PATH, 0);
    if (fd < 0)
        return fd;
    int r = fstat(fd, st) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int vfs_lstat(const struct vfs *v, const char *vpath, struct stat *st)
{
    char name[NAME_MAX + 1];
    int dfd = vfs_open_parent(v, vpath, name);
    if (dfd == -EBUSY)
        return vfs_stat(v, "/", st);
    if (dfd < 0)
        return dfd;
    int r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
    close(dfd);
    return r;
}

/* unlinkat/mkdirat on (parent, name): calls that never follow a final
 * symlink, so the name alone is safe. */
static int at_parent(const struct vfs *v, const char *vpath, int op,
                     mode_t mode, int root_err)
{
    char name[NAME_MAX + 1];
    int dfd = vfs_open_parent(v, vpath, name);
    if (dfd == -EBUSY)
        return root_err;
    if (dfd < 0)
        return dfd;
    int r;
    if (op == 'm')
        r = mkdirat(dfd, name, mode);
    else
        r = unlinkat(dfd, name, op == 'r' ? AT_REMOVEDIR : 0);
    r = r < 0 ? -errno : 0;
    close(dfd);
    return r;
}

int vfs_mkdir(const struct vfs *v, const char *vpath, mode_t mode)
{
    return at_parent(v, vpath, 'm', mode, -EEXIST);
}

int vfs_rmdir(const struct vfs *v, const char *vpath)
{
    return at_parent(v, vpath, 'r', 0, -EBUSY);
}

int vfs_unlink(const struct vfs *v, const char *vpath)
{
    return at_parent(v, vpath, 'u', 0, -EISDIR);
}

/* renameat2 with RENAME_NOREPLACE, else link + unlink: both fail with
 * EEXIST when the name is taken, and never replace anything. */
static int rename_noreplace_at(int from_fd, const char *from, int to_fd,
                               const char *to)
{
    if (renameat2(from_fd, from, to_fd, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -errno;
    if (linkat(from_fd, from, to_fd, to, 0) < 0)
        return -errno;
    unlinkat(from_fd, from, 0);
    return 0;
}

static int rename_common(const struct vfs *v, const char *from, const char *to,
                         bool replace)
{
    char from_name[NAME_MAX + 1], to_name[NAME_MAX + 1];
    int from_fd = vfs_open_parent(v, from, from_name);
    if (from_fd < 0)
        return from_fd;
    int to_fd = vfs_open_parent(v, to, to_name);
    if (to_fd < 0) {
        close(from_fd);
        return to_fd;
    }
    int r;
    if (replace)
        r = renameat(from_fd, from_name, to_fd, to_name) < 0 ? -errno : 0;
    else
        r = rename_noreplace_at(from_fd, from_name, to_fd, to_name);
    close(from_fd);
    close(to_fd);
    return r;
}

int vfs_rename(const struct vfs *v, const char *from, const char *to)
{
    return rename_common(v, from, to, true);
}

int vfs_rename_noreplace(const struct vfs *v, const char *from, const char *to)
{
    return rename_common(v, from, to, false);
}

/* Name of an fd in /proc, the only way to chmod an O_PATH fd on older
 * kernels (the fd was opened beneath the root, so this cannot escape). */
static void proc_fd_path(int fd, char *buf, size_t len)
{
    snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int vfs_chmod(const struct vfs *v, const char *vpath, mode_t mode)
{
    char proc[64];
    int fd = vfs_open(v, vpath, O_PATH, 0);
    if (fd < 0)
        return fd;
    proc_fd_path(fd, proc, sizeof proc);
    int r = chmod(proc, mode & 07777) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int vfs_set_mtime(const struct vfs *v, const char *vpath, time_t mtime)
{
    struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, {.tv_sec = mtime}};
    int fd = vfs_open(v, vpath, O_PATH, 0);
    if (fd < 0)
        return fd;
    int r = utimensat(fd, "", ts, AT_EMPTY_PATH);
    if (r < 0 && errno == EINVAL) {
        char proc[64];
        proc_fd_path(fd, proc, sizeof proc);
        r = utimensat(AT_FDCWD, proc, ts, 0);
    }
    r = r < 0 ? -errno : 0;
    close(fd);
    return r;
}

int vfs_opendir(const struct vfs *v, const char *vpath, DIR **out)
{
    int fd = vfs_open(v, vpath, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return fd;
    DIR *d = fdopendir(fd);
    if (!d) {
        int err = -errno;
        close(fd);
        return err;
    }
    *out = d;
    return 0;
}

/* Fill `out` with `n` random characters from [A-Za-z0-9]. */
static void random_chars(char *out, size_t n)
{
    static const char set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char bytes[16];
    if (n > sizeof bytes)
        n = sizeof bytes;
    if (getrandom(bytes, n, GRND_NONBLOCK) != (ssize_t)n) {
        /* No entropy yet (early boot): uniqueness is all we need. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^
                     (uint64_t)(uintptr_t)out;
        for (size_t i = 0; i < n; i++, x = x * 6364136223846793005u + 1)
            bytes[i] = (unsigned char)(x >> 56);
    }
    for (size_t i = 0; i < n; i++)
        out[i] = set[bytes[i] % (sizeof set - 1)];
}

/* ".NAME.XXXXXX.part" without the NAME: the suffix after NAME is 12 bytes. */
#define TEMP_SUFFIX_LEN 12

int vfs_mktemp(const struct vfs *v, const char *target_vpath, char *tmp_vpath,
               size_t len)
{
    char norm[VFS_PATH_MAX], name[NAME_MAX + 1], tmp[NAME_MAX + 1];
    int r = normalise(target_vpath, norm);
    if (r < 0)
        return r;
    int dfd = open_parent_norm(v, norm, name);
    if (dfd < 0)
        return dfd == -EBUSY ? -EISDIR : dfd;
    /* Shorten NAME to fit NAME_MAX, not cutting a UTF-8 sequence in two. */
    size_t keep = strlen(name), room = NAME_MAX - 1 - TEMP_SUFFIX_LEN;
    if (keep > room) {
        keep = room;
        while (keep > 0 && ((unsigned char)name[keep] & 0xc0) == 0x80)
            keep--;
    }
    r = -EEXIST;
    for (int tries = 0; tries < 100 && r == -EEXIST; tries++) {
        char rnd[6];
        random_chars(rnd, sizeof rnd);
        snprintf(tmp, sizeof tmp, ".%.*s.%.6s.part", (int)keep, name, rnd);
        int n = snprintf(tmp_vpath, len, "%s/%s", norm, tmp);
        if (n < 0 || (size_t)n >= len) {
            r = -ENAMETOOLONG;
            break;
        }
        r = openat(dfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0666);
        if (r < 0)
            r = -errno;
    }
    close(dfd);
    return r;
}

int vfs_is_temp_name(const char *name)
{
    size_t len = strlen(name);
    if (!strcmp(name, VFS_KEPT_DIR))
        return 1;
    if (len < TEMP_SUFFIX_LEN + 2 || name[0] != '.')
        return 0;
    const char *s = name + len - TEMP_SUFFIX_LEN;
    if (s[0] != '.' || strcmp(s + 7, ".part") != 0)
        return 0;
    for (int i = 1; i <= 6; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}
