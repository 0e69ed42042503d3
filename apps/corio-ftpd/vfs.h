/* The path jail: every file operation of an FTP session goes through a
 * `struct vfs` rooted at the user's directory and never reaches outside it,
 * whatever the client sends (`..`, absolute paths, symlinks pointing out, NUL
 * bytes, overlong names) and even while the tree changes under us.
 *
 * Paths are "virtual": absolute from the user's root ("/" is the root) as
 * produced by vfs_resolve(). Lookups use openat2(2) with RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS (Linux 5.6+); where that syscall is missing, a walk of
 * one component at a time with O_NOFOLLOW gives the same guarantee. Symlinks
 * that stay inside the root are followed; any that leads outside (absolute
 * target, or `..` above the root) fails with -EXDEV in both modes.
 *
 * All functions return 0 (or an fd) on success and -errno on failure. The
 * calls block on the file system: the server may run them inline (local disks)
 * or through the offload pool. A `struct vfs` may be shared by threads once
 * opened; it holds no per-call state. */
#ifndef CORIO_FTPD_VFS_H
#define CORIO_FTPD_VFS_H

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

/* Longest virtual path, NUL included (the kernel's PATH_MAX). */
#define VFS_PATH_MAX 4096

struct vfs {
    int root_fd;      /* O_PATH|O_DIRECTORY fd of the user's root, or -1 */
    int have_openat2; /* 1: openat2 works here; 0: use the portable walk */
};

/* Open `dir` as the jail's root. The fields are valid (root_fd -1) even when
 * this fails, so vfs_close() is always safe. */
int vfs_open_root(struct vfs *v, const char *dir);

/* Close the root fd; idempotent. */
void vfs_close(struct vfs *v);

/* Normalise a client path into a virtual path in `out`: `arg` is relative to
 * `cwd` (itself a virtual path; NULL means "/") or absolute from the root when
 * it starts with '/'; empty or NULL `arg` means `cwd`. Repeated slashes, `.`
 * and `..` are collapsed lexically and `..` never goes above "/". The result
 * starts with '/' and has no trailing slash (except "/" itself). Returns 0,
 * -EINVAL for control characters (bytes < 0x20 and 0x7f), -ENAMETOOLONG when a
 * component exceeds NAME_MAX or the result does not fit in `outlen` or
 * VFS_PATH_MAX. Pure string work: no file system access. */
int vfs_resolve(const char *cwd, const char *arg, char *out, size_t outlen);

/* The same for an argument of `arglen` bytes that may contain NUL bytes
 * (which give -EINVAL), as read off the wire. */
int vfs_resolve_len(const char *cwd, const char *arg, size_t arglen, char *out,
                    size_t outlen);

/* Open a virtual path beneath the root like openat(2) (`mode` is used with
 * O_CREAT/O_TMPFILE only). O_CLOEXEC is always added. Returns the fd. */
int vfs_open(const struct vfs *v, const char *vpath, int flags, mode_t mode);

/* Open a regular file for a transfer without ever blocking on a FIFO or a
 * device: the entry is checked through an O_PATH fd first (which opens
 * nothing), then opened with O_NONBLOCK and checked again on the fd, so a
 * swap in between is caught too. O_NONBLOCK is cleared again on success.
 * Fills *st from the open fd. Returns the fd, -ENODEV for anything but a
 * regular file, or the open's error. */
int vfs_open_regular(const struct vfs *v, const char *vpath, int flags,
                     mode_t mode, struct stat *st);

/* Open the directory containing `vpath` (O_PATH|O_DIRECTORY, beneath the root)
 * and copy the last component into `name` (never "", "." or ".."). Returns the
 * dirfd, or -EBUSY for the root itself (it has no name to operate on). The
 * building block of the calls below; exported for the server's own *at()
 * calls. */
int vfs_open_parent(const struct vfs *v, const char *vpath,
                    char name[NAME_MAX + 1]);

/* stat(2) following symlinks (beneath the root) / lstat(2) of the entry. */
int vfs_stat(const struct vfs *v, const char *vpath, struct stat *st);
int vfs_lstat(const struct vfs *v, const char *vpath, struct stat *st);

/* mkdir(2), rmdir(2), unlink(2) of the last component; they never follow a
 * symlink there (unlink removes the link, not its target). */
int vfs_mkdir(const struct vfs *v, const char *vpath, mode_t mode);
int vfs_rmdir(const struct vfs *v, const char *vpath);
int vfs_unlink(const struct vfs *v, const char *vpath);

/* rename(2) `from` onto `to` (replacing a file there), both beneath the root.
 */
int vfs_rename(const struct vfs *v, const char *from, const char *to);

/* The same, but never replacing: -EEXIST when `to` exists (renameat2 with
 * RENAME_NOREPLACE; link and unlink where the file system lacks it). */
int vfs_rename_noreplace(const struct vfs *v, const char *from, const char *to);

/* chmod(2) (SITE CHMOD); a final symlink is followed beneath the root. Only
 * the permission bits 07777 of `mode` are used. */
int vfs_chmod(const struct vfs *v, const char *vpath, mode_t mode);

/* Set the modification time (MFMT); the access time is left as it is. */
int vfs_set_mtime(const struct vfs *v, const char *vpath, time_t mtime);

/* Open a directory for reading (LIST, MLSD, NLST); close with closedir(). */
int vfs_opendir(const struct vfs *v, const char *vpath, DIR **out);

/* Create a new, empty, hidden file next to `target_vpath` for an upload, named
 * `.NAME.XXXXXX.part` (NAME shortened if needed to fit NAME_MAX, XXXXXX
 * random), with O_CREAT|O_EXCL|O_RDWR and mode 0666 & ~umask. Its virtual path
 * goes to `tmp_vpath` (`len` >= VFS_PATH_MAX is always enough). Returns the fd;
 * the caller renames it onto the target with vfs_rename() when the transfer
 * completes, or unlinks it. */
int vfs_mktemp(const struct vfs *v, const char *target_vpath, char *tmp_vpath,
               size_t len);

/* Directory at a root where the server keeps the data of cut uploads. */
#define VFS_KEPT_DIR ".corio-partial"

/* True (1) when `name` (one component) is of the vfs_mktemp() form or is
 * VFS_KEPT_DIR: names the server owns, which listings hide. */
int vfs_is_temp_name(const char *name);

#endif
