/* Replies on the control connection: the one place that writes them and
 * that turns an errno into an FTP reply code and text. The bottom of the
 * server's layers: session, commands, transfers and FTPS all reply here. */
#ifndef FTPD_REPLY_H
#define FTPD_REPLY_H

#include <stddef.h>
#include <stdint.h>

struct ftp_session;

/* Deadline for a control write. */
int64_t ctl_deadline(struct ftp_session *s);

/* Sends one reply line "CODE text". 0 or -errno (the session then ends). */
int reply(struct ftp_session *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends a prepared multi-line reply (text with CRLFs). */
int reply_raw(struct ftp_session *s, const char *text, size_t len);

/* Reply text for -errno from a file operation ("No such file" ...). */
const char *ftp_strerror(int err);
/* The usual 550 for a failed file operation; -ENODEV (as from
 * vfs_open_regular) says "not a regular file". */
void reply_fs_error(struct ftp_session *s, int err, const char *vpath);
/* A transfer ended by an error of our own disk: 452 (disk full), 552
 * (quota, file too large), else 451 with the error's text. */
void reply_local_error(struct ftp_session *s, int err);

#endif
