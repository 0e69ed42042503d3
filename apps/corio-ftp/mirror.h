/* Mirroring a directory tree either way. One connection walks the tree
 * (listings, MKD) while the engine's workers move the files; files already
 * there with the same size (and time, when the server tells it exactly)
 * are skipped. */
#ifndef CORIO_FTP_MIRROR_H
#define CORIO_FTP_MIRROR_H

#include "xfer.h"

/* Downloads remote_root (relative to the login directory, "" for it) into
 * local_dir, creating directories. Returns the number of problems found
 * while walking (each reported); transfer failures are counted by e. */
int mirror_get(ftp_conn *c, const ftp_site *site, const char *remote_root,
               const char *local_dir, xfer_engine *e);

/* Uploads local_dir into remote_root, creating remote directories. */
int mirror_put(ftp_conn *c, const ftp_site *site, const char *local_dir,
               const char *remote_root, xfer_engine *e);

/* "dir" + "name" -> "dir/name" (dir may be "" or end with '/'); malloc'd. */
char *path_join(const char *dir, const char *name);

/* mkdir -p on the offload pool. 0 or -errno. */
int local_mkdirs(const char *path);

#endif
