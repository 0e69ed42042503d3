/* The interactive shell, in the manner of the classic ftp program: open,
 * user, ls, cd, get, put, mget, mput (with globs), bye and friends. */
#ifndef CORIO_FTP_SHELL_H
#define CORIO_FTP_SHELL_H

#include "xfer.h"

/* Reads commands from stdin until bye or end of input; opens target first
 * when it is not NULL (a host, host:port or ftp:// URL). Runs in a task.
 * Returns the exit status: 0, or 1 if the last command failed. */
int shell_main(const char *target, const ftp_opts *o);

#endif
