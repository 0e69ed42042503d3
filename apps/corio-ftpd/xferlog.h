/* The transfer log in the xferlog format of wu-ftpd that FTP log tools
 * parse, one line per transfer:
 *
 *   current-time transfer-time remote-host file-size filename transfer-type
 *   special-action-flag direction access-mode username service-name
 *   authentication-method authenticated-user-id completion-status
 *
 * e.g. "Wed Nov 26 12:00:00 2025 2 127.0.0.1 1048576 /pub/f.bin b _ o r
 * alice ftp 0 * c". Blanks and control characters in the file name and user
 * name become '_' so that the fields stay separable. */
#ifndef CORIO_FTPD_XFERLOG_H
#define CORIO_FTPD_XFERLOG_H

#include <stddef.h>
#include <time.h>

struct xferlog_entry {
    time_t end;              /* when the transfer ended (current-time) */
    double seconds;          /* how long it took (rounded, at least 1) */
    const char *remote_host; /* client address, e.g. "127.0.0.1" */
    long long bytes;         /* bytes transferred (file-size) */
    const char *path;        /* file name as the user sees it */
    int ascii;               /* 1: TYPE A ('a'), 0: binary ('b') */
    char direction;          /* 'o' outgoing (RETR), 'i' incoming, 'd' del */
    int anonymous;           /* 1: access-mode 'a', 0: 'r' (real user) */
    const char *user;        /* user name; for anonymous, the e-mail given */
    int complete;            /* 1: 'c' completed, 0: 'i' incomplete */
};

/* Format the line, '\n' included, in local time as wu-ftpd does. Returns
 * the length, or -ENOSPC if `len` is too small (`buf` then holds ""). */
int xferlog_format(char *buf, size_t len, const struct xferlog_entry *e);

/* Append the line to `fd` (opened O_APPEND) in one write(2), so lines from
 * several threads or processes never interleave. Returns 0 or -errno. */
int xferlog_write(int fd, const struct xferlog_entry *e);

#endif
