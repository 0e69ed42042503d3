/* TLS streams for tasks, on OpenSSL 3 (a separate library: link
 * libcorio_tls, pkg-config corio-tls). A context holds the settings shared by
 * many connections (certificate, verification, versions, session cache); a
 * connection wraps a connected fd. Every call that can block takes an
 * absolute deadline on cio_hub_now()'s clock (-1 = forever) and waits for the
 * fd on the hub when OpenSSL wants to read or write, so it works on every
 * backend and in worker threads. Errors are negative errno values:
 *   -EPROTO        the peer broke the protocol (garbage, bad alert...)
 *   -EKEYREJECTED  the peer's certificate failed verification
 *   -ECONNABORTED  the peer closed the TCP stream without close_notify
 *   -ETIMEDOUT, -ECANCELED, -EINTR, -ECONNRESET, -EPIPE as for cio_fd_read.
 * cio_tls_conn_error() gives OpenSSL's reason text for the last failure. */
#ifndef CORIO_TLS_H
#define CORIO_TLS_H

#include "export.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_tls_ctx cio_tls_ctx_t;
typedef struct cio_tls_conn cio_tls_conn_t;
typedef struct cio_tls_session cio_tls_session_t;

/* Protocol versions for cio_tls_ctx_opts_t (0 = the default). */
enum { CIO_TLS_1_2 = 0x0303, CIO_TLS_1_3 = 0x0304 };

/* Settings of a context; zero-initialise and set what you need. */
typedef struct cio_tls_ctx_opts {
    bool server;              /* accept side (needs cert_file and key_file) */
    const char *cert_file;    /* PEM certificate chain, leaf first */
    const char *key_file;     /* PEM private key of the leaf */
    const char *ca_file;      /* trusted CAs (PEM); NULL = the system store */
    bool no_verify;           /* client: accept any server certificate */
    bool verify_client;       /* server: ask for and verify a client cert */
    int min_version;          /* CIO_TLS_1_2 (default, and the floor) or _1_3 */
    int max_version;          /* 0 = the newest OpenSSL offers */
    const char *ciphers;      /* TLS 1.2 cipher list (OpenSSL syntax) */
    const char *ciphersuites; /* TLS 1.3 suites, "TLS_AES_128_GCM_SHA256:..." */
    const char *groups;       /* key exchange groups, "X25519:P-256" */
    const char *alpn;         /* protocols to offer/accept, "h2,http/1.1" */
    bool no_tickets;          /* server: resume by session ID only */
    bool ktls; /* send through kernel TLS (SSL_sendfile) where the kernel
                  offers the tls ULP; user-space TLS otherwise */
} cio_tls_ctx_opts_t;

/* Creates a context. Returns 0, -EINVAL (bad option), -ENOENT/-EACCES (a
 * file), -EKEYREJECTED (key does not match the certificate), -ENOMEM; on
 * failure a message goes to err_buf[err_len] when err_buf is not NULL. */
CIO_API int cio_tls_ctx_new(cio_tls_ctx_t **out, const cio_tls_ctx_opts_t *opts,
                            char *err_buf, size_t err_len);

/* Loads a new certificate chain and key into ctx: connections made after it
 * use them, established ones carry on, resumption keys are kept. Both files
 * are checked before anything changes. Safe against cio_tls_conn_new in
 * other threads. Returns 0 or -errno as cio_tls_ctx_new. */
CIO_API int cio_tls_ctx_reload(cio_tls_ctx_t *ctx, const char *cert_file,
                               const char *key_file, char *err_buf,
                               size_t err_len);

/* Frees ctx; connections made from it keep what they need. */
CIO_API void cio_tls_ctx_free(cio_tls_ctx_t *ctx);

/* Wraps connected fd (made non-blocking) as a TLS endpoint of ctx's side.
 * host (client side, may be NULL) is sent as SNI and is the name the server
 * certificate must match unless verification is off. fd stays the
 * caller's: cio_tls_conn_free does not close it. 0, -EINVAL or -ENOMEM. */
CIO_API int cio_tls_conn_new(cio_tls_conn_t **out, cio_tls_ctx_t *ctx, int fd,
                             const char *host);

/* Client: offers sess (from another connection) for resumption in the next
 * handshake. Server: binds tag[len] (up to 64 bytes) to the sessions this
 * connection creates, readable later with cio_tls_conn_session_tag on a
 * connection that resumes one of them. 0 or -EINVAL/-ENOMEM. */
CIO_API int cio_tls_conn_set_session(cio_tls_conn_t *conn,
                                     const cio_tls_session_t *sess);
CIO_API int cio_tls_conn_set_tag(cio_tls_conn_t *conn, const void *tag,
                                 size_t len);

/* Server: how many TLS 1.3 tickets to send after the handshake (default
 * 2; 0 for a connection nobody resumes from, whose peer may close without
 * reading them). 0 or -EINVAL. */
CIO_API int cio_tls_conn_set_tickets(cio_tls_conn_t *conn, unsigned n);

/* Runs the handshake. 0 or -errno (see the top of this file). */
CIO_API int cio_tls_conn_handshake(cio_tls_conn_t *conn, int64_t deadline_ms);

/* Reads up to n bytes of application data: the count, 0 after the peer's
 * close_notify, or -errno. Handshakes first if not done yet. */
CIO_API ssize_t cio_tls_conn_read(cio_tls_conn_t *conn, void *buf, size_t n,
                                  int64_t deadline_ms);

/* Writes all n bytes (records of at most 16 KiB): n or -errno. */
CIO_API ssize_t cio_tls_conn_write(cio_tls_conn_t *conn, const void *buf,
                                   size_t n, int64_t deadline_ms);

/* Writes every buffer, packing small ones together into full records:
 * the total or -errno. */
CIO_API ssize_t cio_tls_conn_writev(cio_tls_conn_t *conn,
                                    const struct iovec *iov, int iovcnt,
                                    int64_t deadline_ms);

/* Sends up to count bytes of file_fd from *offset (advanced by what went
 * out): with kernel TLS's sendfile when it is on, else read here 256 KiB
 * at a time and sent in full records, several per system call. The
 * bytes sent (0 at the end of the file) or -errno; *file_error (may be
 * NULL) is set when the error came from reading file_fd. */
CIO_API ssize_t cio_tls_conn_sendfile(cio_tls_conn_t *conn, int file_fd,
                                      off_t *offset, size_t count,
                                      bool *file_error, int64_t deadline_ms);

/* True once the handshake is done if the kernel encrypts what conn sends
 * (the context asked for ktls and the kernel took the keys). */
CIO_API bool cio_tls_conn_ktls_send(const cio_tls_conn_t *conn);

/* Sends close_notify (does not wait for the peer's). 0 or -errno. */
CIO_API int cio_tls_conn_shutdown(cio_tls_conn_t *conn, int64_t deadline_ms);

/* Frees conn; the fd stays open. As OpenSSL rules, a session whose
 * connection is freed without cio_tls_conn_shutdown cannot be resumed. */
CIO_API void cio_tls_conn_free(cio_tls_conn_t *conn);

/* OpenSSL's reason text for the last failure on conn ("" if none). */
CIO_API const char *cio_tls_conn_error(const cio_tls_conn_t *conn);

/* After the handshake: was the session resumed; the negotiated version
 * ("TLSv1.3"), cipher and ALPN protocol (NULL if none); the SNI name the
 * client asked for (server side, NULL if none); the fd. */
CIO_API bool cio_tls_conn_resumed(const cio_tls_conn_t *conn);
CIO_API const char *cio_tls_conn_version(const cio_tls_conn_t *conn);
CIO_API const char *cio_tls_conn_cipher(const cio_tls_conn_t *conn);
CIO_API const char *cio_tls_conn_alpn(const cio_tls_conn_t *conn);
CIO_API const char *cio_tls_conn_server_name(const cio_tls_conn_t *conn);
CIO_API int cio_tls_conn_fd(const cio_tls_conn_t *conn);

/* Server, after a resumed handshake: copies the tag bound to the session
 * (cio_tls_conn_set_tag) to buf[cap]; its length, or -ENOENT when the
 * session has none or was not resumed. */
CIO_API int cio_tls_conn_session_tag(const cio_tls_conn_t *conn, void *buf,
                                     size_t cap);

/* Client: the session to resume on another connection (TLS 1.3 sends it
 * after the handshake, so read some data first). 0, -ENOENT (none yet) or
 * -ENOMEM; free it with cio_tls_session_free. */
CIO_API int cio_tls_conn_session_get(cio_tls_conn_t *conn,
                                     cio_tls_session_t **out);
CIO_API void cio_tls_session_free(cio_tls_session_t *sess);

#ifdef __cplusplus
}
#endif

#endif
