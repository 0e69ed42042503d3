/* FTPS for corio-ftp (RFC 4217): TLS on the control connection (implicit,
 * ftps://, or AUTH TLS, ftpes:// and --tls) and on every data connection,
 * which resumes the control connection's TLS session as servers that bind
 * the two (vsftpd, proftpd, corio-ftpd) require. Certificates are verified
 * against the system store or --cafile unless --insecure. Without OpenSSL
 * at build time every call fails with -ENOTSUP. */
#ifndef CORIO_FTP_FTPS_H
#define CORIO_FTP_FTPS_H

#include <corio/tls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How a site speaks TLS: not at all (ftp://), after AUTH TLS (ftpes://
 * or --tls) or from the first byte (ftps://, port 990). */
enum { FTP_TLS_NONE, FTP_TLS_EXPLICIT, FTP_TLS_IMPLICIT };

/* A client context: cafile NULL = the system store; insecure: no check. */
int ftps_ctx_new(cio_tls_ctx_t **out, const char *cafile, bool insecure,
                 char *err, size_t errlen);
void ftps_ctx_free(cio_tls_ctx_t *ctx);

/* Runs a client handshake on fd for host, offering the session of
 * resume_from when given. 0 or -errno with the reason in err. */
int ftps_connect(cio_tls_ctx_t *ctx, int fd, const char *host,
                 cio_tls_conn_t *resume_from, cio_tls_conn_t **out,
                 int64_t deadline_ms, char *err, size_t errlen);

/* Read (an EOF without close_notify counts as EOF: the final reply tells
 * whether the transfer was complete) and write everything. */
ssize_t ftps_read(cio_tls_conn_t *t, void *buf, size_t n, int64_t deadline_ms);
ssize_t ftps_write(cio_tls_conn_t *t, const void *buf, size_t n,
                   int64_t deadline_ms);

/* Sends close_notify when clean, frees *t and sets it to NULL. */
void ftps_close(cio_tls_conn_t **t, bool clean, int64_t deadline_ms);

#endif
