/* The FTP protocol (RFC 959, 2428, 3659) from the client's side: one control
 * connection, its replies (multi-line included), and data connections in
 * passive (EPSV, PASV) or active (EPRT, PORT) mode. Every call runs in a
 * corio task and waits at most timeout_ms for each network step.
 *
 * Errors are negative errno values; -EPROTO means "the server said no", with
 * its reply in c->reply (see ftp_last_line). */
#ifndef CORIO_FTP_PROTO_H
#define CORIO_FTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ftps.h"

/* One control connection and what we learnt about its server. */
typedef struct ftp_conn {
    int fd;                        /* control socket, -1 when closed */
    int64_t timeout_ms;            /* limit for each network wait, -1 none */
    bool active;                   /* data via PORT/EPRT, not PASV/EPSV */
    bool verbose;                  /* echo the dialogue on stderr */
    bool no_epsv;                  /* EPSV refused once: use PASV */
    bool no_eprt;                  /* EPRT refused once: use PORT */
    bool no_mlsd;                  /* MLSD refused once: use LIST */
    bool no_mlst;                  /* MLST refused once: use CWD */
    bool binary;                   /* TYPE I is in effect */
    struct sockaddr_storage peer;  /* server end of the control socket */
    socklen_t peer_len;            /* its length */
    struct sockaddr_storage local; /* our end, where active mode listens */
    socklen_t local_len;           /* its length */
    int listen_fd;                 /* active mode: listener awaiting data */
    char in[4096];                 /* control input not consumed yet */
    size_t in_len;                 /* bytes valid in in[] */
    size_t in_pos;                 /* next unread byte of in[] */
    int code;                      /* last reply's code, 0 before any */
    char reply[2048];              /* last reply, lines joined by '\n' */
    char err[512];                 /* text for the last failure */
    cio_tls_ctx_t *tls_ctx;        /* FTPS context (borrowed), or NULL */
    int tls_mode;                  /* FTP_TLS_* of the site */
    cio_tls_conn_t *tls;           /* the control connection's TLS */
    cio_tls_conn_t *data_tls;      /* the open data connection's TLS */
    char tls_err[256];             /* why TLS failed, until reported */
    char tls_host[256];            /* the name certificates must match */
} ftp_conn;

/* Prepares a closed connection. */
void ftp_init(ftp_conn *c, int64_t timeout_ms, bool active, bool verbose);

/* FTPS for the next ftp_open: mode FTP_TLS_* (ftps.h), ctx a client
 * context (may be NULL when mode is FTP_TLS_NONE). */
void ftp_set_tls(ftp_conn *c, cio_tls_ctx_t *ctx, int mode);

/* Connects and reads the greeting; with FTPS, also TLS (before the
 * greeting, or AUTH TLS after it), PBSZ 0 and PROT P. 0 or -errno. */
int ftp_open(ftp_conn *c, const char *host, uint16_t port);

/* USER/PASS. 0, -EACCES (refused, reply kept) or -errno. */
int ftp_login(ftp_conn *c, const char *user, const char *pass);

/* Sends QUIT (briefly waiting for its answer) and closes. */
void ftp_quit(ftp_conn *c);

/* Closes at once, without a word to the server. */
void ftp_drop(ftp_conn *c);

/* True while the control connection is open and has nothing unexpected
 * waiting (a 421 or an EOF from an idle server shows up as readable). */
bool ftp_alive(ftp_conn *c);

/* Sends a formatted command and reads the reply: returns its code, or a
 * negative errno (-EINVAL for CR/LF in arguments). */
int ftp_cmd(ftp_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads the next reply; returns its code or -errno. */
int ftp_read_reply(ftp_conn *c);

/* The last line of the last reply, e.g. "550 No such file". */
const char *ftp_last_line(const ftp_conn *c);

/* A message for a failure rc of a call on c: the server's reply for
 * -EPROTO/-EACCES, else the error's description. Kept in c->err. */
const char *ftp_strerror(ftp_conn *c, int rc);

/* TYPE I once per connection. */
int ftp_binary(ftp_conn *c);

/* SIZE: 0 with *size, or -EPROTO (missing file, or unsupported). */
int ftp_size(ftp_conn *c, const char *path, int64_t *size);

/* CWD / MKD / DELE / PWD. PWD copies the directory into out. */
int ftp_cwd(ftp_conn *c, const char *path);
int ftp_mkd(ftp_conn *c, const char *path);
int ftp_pwd(ftp_conn *c, char *out, size_t outlen);

/* Whether directory path exists: 1 yes, 0 no, -ENOTDIR for a file, or
 * -errno. Asks MLST, else CWD there and back; never trusts an empty
 * listing (vsftpd lists a missing path as empty). */
int ftp_dir_exists(ftp_conn *c, const char *path);

/* Opens a data connection, sends REST rest (when > 0) and then the command
 * (e.g. "RETR name"), and waits for its preliminary reply. Returns the data
 * socket, -ENOTSUP when REST was refused (nothing sent yet), or -errno. */
int ftp_data_begin(ftp_conn *c, int64_t rest, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* IO on a data socket from ftp_data_begin (through TLS under PROT P):
 * read up to n bytes / write all n; and closing it (close_notify first
 * when clean). */
ssize_t ftp_data_read(ftp_conn *c, int dfd, void *buf, size_t n,
                      int64_t deadline_ms);
ssize_t ftp_data_write(ftp_conn *c, int dfd, const void *buf, size_t n,
                       int64_t deadline_ms);
void ftp_data_close(ftp_conn *c, int dfd, bool clean);

/* After the data socket is closed: reads the transfer's final reply.
 * 0 on 2xx, -EPROTO otherwise. */
int ftp_data_end(ftp_conn *c);

/* Reads a whole listing of path into a malloc'd buffer: MLSD, or LIST when
 * the server lacks MLSD or use_list is set. *is_mlsd says which. 0/-errno. */
int ftp_fetch_listing(ftp_conn *c, const char *path, bool use_list, char **out,
                      size_t *outlen, bool *is_mlsd);

#endif
