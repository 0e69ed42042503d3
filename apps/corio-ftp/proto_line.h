/* What proto.c shares with proto_data.c, not meant for the rest of the
 * client. */
#ifndef CORIO_FTP_PROTO_LINE_H
#define CORIO_FTP_PROTO_LINE_H

#include <corio.h>
#include <stdarg.h>

#include "proto.h"

/* Deadline for one control or data connection step (-1: none). */
static inline int64_t deadline(const ftp_conn *c)
{
    return c->timeout_ms < 0 ? -1 : cio_deadline_in(c->timeout_ms);
}

/* Sends one command line without reading the reply: 0, -ENAMETOOLONG,
 * -EINVAL (CR or LF inside), -ENOTCONN, or the write's -errno (the
 * connection is then dropped). */
int ftp_send_line(ftp_conn *c, const char *fmt, va_list ap);

#endif
