/* FTPS (RFC 4217) for corio-ftpd: AUTH TLS on the control connection,
 * PBSZ/PROT, TLS data connections bound to their control connection's
 * session, the implicit-TLS listener and certificate reloads. Without
 * OpenSSL at build time every entry point behaves as "TLS is off". */
#ifndef FTPD_FTPS_H
#define FTPD_FTPS_H

#include <corio/tls.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct ftpd_config;
struct ftpd_shared;
struct ftpd_server;
struct ftp_session;

/* ---- server ---- */

/* Checks the tls_* settings, makes the context (refusing a key file others
 * can read) and opens the implicit listener. 0, or -1 with a message. */
int ftps_setup(struct ftpd_shared *sh, const struct ftpd_config *cfg, char *err,
               size_t errlen);
/* SIGHUP: loads the (new) certificate and key; sessions carry on. */
int ftps_reload(struct ftpd_shared *sh, const struct ftpd_config *cfg,
                char *err, size_t errlen);
void ftps_free(struct ftpd_shared *sh);
/* The "implicit FTPS on ADDR:PORT" line, when that listener is open. */
void ftps_print_listening(const struct ftpd_shared *sh);
/* Serves the implicit listener from this thread's hub (one thread only). */
int ftps_implicit_start(struct ftpd_server *srv);
void ftps_implicit_stop(struct ftpd_server *srv, int64_t deadline_ms);
/* --help: the FTPS settings' defaults and a self-signed pair recipe. */
void ftps_print_help(FILE *out);
/* FEAT lines (" AUTH TLS\r\n PBSZ\r\n PROT\r\n") or "". */
const char *ftps_feat(const struct ftp_session *s);

/* ---- control connection ---- */

/* AUTH, PBSZ, PROT and CCC, and the tls = required policy on USER, PASS and
 * data commands: true when the verb was handled (a reply was sent). */
bool ftps_command(struct ftp_session *s, const char *verb, char *arg);
/* Implicit FTPS: the handshake before the greeting. 0 or -errno. */
int ftps_implicit_accept(struct ftp_session *s);
/* True once the control connection speaks TLS. */
bool ftps_secure(const struct ftp_session *s);
/* Control IO through TLS (only when ftps_secure). */
ssize_t ftps_ctl_read(struct ftp_session *s, void *buf, size_t n,
                      int64_t deadline_ms);
ssize_t ftps_ctl_write(struct ftp_session *s, const void *buf, size_t n,
                       int64_t deadline_ms);
/* Sends close_notify and frees the session's TLS state. */
void ftps_session_end(struct ftp_session *s);

/* ---- data connections ---- */

/* After PROT P: runs the TLS handshake on data fd and checks that it
 * resumed this control connection's session; *out is NULL when the data
 * stays plain. 0 or -errno (-EPERM: not resumed from this session). */
int ftps_data_start(struct ftp_session *s, int fd, cio_tls_conn_t **out,
                    int64_t deadline_ms);
/* Reads (EOF without close_notify counts as EOF, as in vsftpd) / writes. */
ssize_t ftps_data_read(cio_tls_conn_t *c, void *buf, size_t n,
                       int64_t deadline_ms);
ssize_t ftps_data_write(cio_tls_conn_t *c, const void *buf, size_t n,
                        int64_t deadline_ms);
/* Sends file_fd from off in full 16 KiB records (sendfile cannot encrypt):
 * 0 at the end of the file or -errno; *bytes counts what went out, and
 * *local_error tells a disk error from a network one. */
int ftps_send_file(cio_tls_conn_t *c, int file_fd, off_t off, off_t *bytes,
                   bool *local_error, int64_t stall_ms);
/* Ends the data session: close_notify when clean, then frees *c. */
void ftps_data_end(cio_tls_conn_t **c, bool clean, int64_t deadline_ms);

#endif
