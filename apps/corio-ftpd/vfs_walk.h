/* The path jail's resolver for kernels without openat2(2), used by vfs.c
 * (see vfs.h for the contract both resolvers keep). */
#ifndef CORIO_FTPD_VFS_WALK_H
#define CORIO_FTPD_VFS_WALK_H

#include "vfs.h"

/* Opens rel (normalised, relative to the root, "." for the root) beneath
 * v's root, one component at a time. An fd or -errno (-EXDEV for a path
 * that would leave the root, -ELOOP after too many symlinks). */
int vfs_walk_open(const struct vfs *v, const char *rel, int flags, mode_t mode);

#endif
