/* TLS connections: OpenSSL on a non-blocking fd, where WANT_READ and
 * WANT_WRITE become a wait on the hub until the call's deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corio/io.h"
#include "tls_internal.h"

/* A socket BIO that sends with MSG_NOSIGNAL: a peer that hangs up must give
 * -EPIPE, not kill the process, and a library may not touch SIGPIPE's
 * disposition. Its data is the connection. During a bulk write (conn->cork)
 * it gathers records in conn->out and sends them with one sendmsg, instead
 * of one send per 16 KiB record. */
static BIO_METHOD *sock_method;
static pthread_once_t sock_once = PTHREAD_ONCE_INIT;

static int sock_io_result(BIO *bio, ssize_t n, bool reading)
{
    BIO_clear_retry_flags(bio);
    if (n >= 0)
        return (int)n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        if (reading)
            BIO_set_retry_read(bio);
        else
            BIO_set_retry_write(bio);
    }
    return -1;
}

/* Sends what waits in conn->out, then buf[len], in one call: the bytes of
 * buf taken, or -1 with the retry flag (nothing of buf taken). */
static int sock_send_batch(BIO *bio, cio_tls_conn_t *conn, const char *buf,
                           int len)
{
    size_t pending = conn->out_len - conn->out_off;
    struct iovec iov[2] = {{conn->out + conn->out_off, pending},
                           {(void *)buf, (size_t)len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = sendmsg(conn->fd, &msg, MSG_NOSIGNAL);
    if (n < 0)
        return sock_io_result(bio, n, false);
    if ((size_t)n < pending) {
        conn->out_off += (size_t)n;
        BIO_clear_retry_flags(bio);
        BIO_set_retry_write(bio); /* the socket is full: wait, then more */
        return -1;
    }
    conn->out_off = conn->out_len = 0;
    n -= (ssize_t)pending;
    if (n == 0) {
        BIO_clear_retry_flags(bio);
        BIO_set_retry_write(bio);
        return -1;
    }
    return sock_io_result(bio, n, false);
}

static int sock_write(BIO *bio, const char *buf, int len)
{
    cio_tls_conn_t *conn = BIO_get_data(bio);
    if (conn->cork && conn->out_len + (size_t)len <= CIO__TLS_BATCH) {
        memcpy(conn->out + conn->out_len, buf, (size_t)len);
        conn->out_len += (size_t)len;
        BIO_clear_retry_flags(bio);
        return len;
    }
    if (conn->out_len > conn->out_off)
        return sock_send_batch(bio, conn, buf, len);
    return sock_io_result(bio, send(conn->fd, buf, (size_t)len, MSG_NOSIGNAL),
                          false);
}

static int sock_read(BIO *bio, char *buf, int len)
{
    cio_tls_conn_t *conn = BIO_get_data(bio);
    return sock_io_result(bio, recv(conn->fd, buf, (size_t)len, 0), true);
}

static long sock_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int sock_create(BIO *bio)
{
    BIO_set_init(bio, 1);
    return 1;
}

static void sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
                                     BIO_TYPE_DESCRIPTOR,
                                 "corio socket");
    if (m == NULL)
        return;
    BIO_meth_set_write(m, sock_write);
    BIO_meth_set_read(m, sock_read);
    BIO_meth_set_ctrl(m, sock_ctrl);
    BIO_meth_set_create(m, sock_create);
    sock_method = m;
}

/* corio's BIO for conn, or OpenSSL's socket BIO when kernel TLS is asked
 * for (OpenSSL hands the keys to the kernel only through its own). */
static BIO *sock_bio(cio_tls_conn_t *conn)
{
    if (conn->ktls)
        return BIO_new_socket(conn->fd, BIO_NOCLOSE);
    pthread_once(&sock_once, sock_method_init);
    BIO *bio = sock_method ? BIO_new(sock_method) : NULL;
    if (bio != NULL)
        BIO_set_data(bio, conn);
    return bio;
}

/* Sends what the last bulk write left in conn->out. 0 or -errno. */
static int flush_out(cio_tls_conn_t *conn, int64_t deadline_ms)
{
    while (conn->out_off < conn->out_len) {
        ssize_t n = send(conn->fd, conn->out + conn->out_off,
                         conn->out_len - conn->out_off, MSG_NOSIGNAL);
        int rc = 0;
        if (n >= 0)
            conn->out_off += (size_t)n;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            rc = cio_fd_wait_writable(conn->fd, deadline_ms);
        else if (errno != EINTR)
            rc = -errno;
        if (rc < 0) {
            snprintf(conn->err, sizeof conn->err, "%s", strerror(-rc));
            if (rc != -ETIMEDOUT && rc != -ECANCELED && rc != -EINTR)
                conn->broken = true;
            return rc;
        }
    }
    conn->out_off = conn->out_len = 0;
    return 0;
}

/* A connection that moves bulk data keeps OpenSSL's record buffers between
 * calls (an idle one gives them back: SSL_MODE_RELEASE_BUFFERS) and reads
 * ahead up to CIO__TLS_READ_BUF (from its next read buffer on; the others
 * read ahead within one record's buffer). */
static void go_bulk(cio_tls_conn_t *conn)
{
    if (!conn->bulk) {
        conn->bulk = true;
        SSL_clear_mode(conn->ssl, SSL_MODE_RELEASE_BUFFERS);
        SSL_set_default_read_buffer_len(conn->ssl, CIO__TLS_READ_BUF);
    }
}

cio_tls_conn_t *cio__tls_conn_of(const SSL *ssl)
{
    return SSL_get_app_data(ssl);
}

/* Sets the host the server certificate must name: a DNS name (also sent as
 * SNI) or an IP address. */
static int set_host(cio_tls_conn_t *conn, const char *host, bool verify)
{
    unsigned char addr[16];
    bool is_ip = inet_pton(AF_INET, host, addr) == 1 ||
                 inet_pton(AF_INET6, host, addr) == 1;
    if (!is_ip && SSL_set_tlsext_host_name(conn->ssl, host) != 1)
        return -EINVAL;
    if (!verify)
        return 0;
    X509_VERIFY_PARAM *param = SSL_get0_param(conn->ssl);
    int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                   : X509_VERIFY_PARAM_set1_host(param, host, 0);
    return ok == 1 ? 0 : -EINVAL;
}

int cio_tls_conn_new(cio_tls_conn_t **out, cio_tls_ctx_t *ctx, int fd,
                     const char *host)
{
    if (fd < 0)
        return -EINVAL;
    int rc = cio_fd_set_nonblock(fd);
    if (rc < 0)
        return rc;
    cio_tls_conn_t *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&ctx->lock);
    conn->ssl = SSL_new(ctx->ssl);
    pthread_mutex_unlock(&ctx->lock);
    conn->fd = fd;
    conn->ktls = ctx->ktls;
    BIO *bio = conn->ssl ? sock_bio(conn) : NULL;
    if (bio == NULL) {
        ERR_clear_error();
        cio_tls_conn_free(conn);
        return -ENOMEM;
    }
    SSL_set_bio(conn->ssl, bio, bio);
    /* Read-ahead: one recv takes what the read buffer holds, several
     * records on a bulk connection (without it every record costs two, its
     * header and its body). */
    SSL_set_read_ahead(conn->ssl, 1);
    conn->server = ctx->server;
    SSL_set_app_data(conn->ssl, conn);
    if (ctx->server)
        SSL_set_accept_state(conn->ssl);
    else
        SSL_set_connect_state(conn->ssl);
    if (!ctx->server && host != NULL &&
        (rc = set_host(conn, host, ctx->verify)) < 0) {
        ERR_clear_error();
        cio_tls_conn_free(conn);
        return rc;
    }
    *out = conn;
    return 0;
}

int cio_tls_conn_set_session(cio_tls_conn_t *conn,
                             const cio_tls_session_t *sess)
{
    if (conn->server || sess == NULL)
        return -EINVAL;
    if (SSL_set_session(conn->ssl, (SSL_SESSION *)sess) != 1) {
        cio__tls_reason(conn->err, sizeof conn->err, "set session");
        return -EINVAL;
    }
    return 0;
}

int cio_tls_conn_set_tag(cio_tls_conn_t *conn, const void *tag, size_t len)
{
    if (!conn->server || len > CIO__TLS_TAG_MAX)
        return -EINVAL;
    memcpy(conn->tag, tag, len);
    conn->tag_len = len;
    return 0;
}

int cio_tls_conn_set_tickets(cio_tls_conn_t *conn, unsigned n)
{
    if (!conn->server || SSL_set_num_tickets(conn->ssl, n) != 1)
        return -EINVAL;
    return 0;
}

/* Why the last call failed, as -errno, with its reason in conn->err. */
static int failure(cio_tls_conn_t *conn, int ssl_err, int saved_errno)
{
    unsigned long e = ERR_peek_last_error();
    long verify = SSL_get_verify_result(conn->ssl);
    conn->broken = true;
    if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
        verify != X509_V_OK) {
        snprintf(conn->err, sizeof conn->err, "certificate verify failed: %s",
                 X509_verify_cert_error_string(verify));
        ERR_clear_error();
        return -EKEYREJECTED;
    }
    if (ssl_err == SSL_ERROR_SYSCALL && e == 0) {
        int err = saved_errno ? saved_errno : ECONNABORTED;
        snprintf(conn->err, sizeof conn->err, "%s", strerror(err));
        return -err;
    }
    int rc = -EPROTO;
    if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        rc = -ECONNABORTED;
    cio__tls_reason(conn->err, sizeof conn->err, "protocol error");
    return rc;
}

/* After an OpenSSL call returned ret: waits for what it wants and returns 0
 * to retry, 1 at a clean close_notify, or -errno. */
static int settle(cio_tls_conn_t *conn, int ret, int64_t deadline_ms)
{
    int saved_errno = errno;
    int ssl_err = SSL_get_error(conn->ssl, ret);
    int rc;
    switch (ssl_err) {
    case SSL_ERROR_WANT_READ:
        rc = cio_fd_wait_readable(conn->fd, deadline_ms);
        break;
    case SSL_ERROR_WANT_WRITE:
        rc = cio_fd_wait_writable(conn->fd, deadline_ms);
        break;
    case SSL_ERROR_ZERO_RETURN:
        return 1;
    default:
        return failure(conn, ssl_err, saved_errno);
    }
    if (rc < 0)
        snprintf(conn->err, sizeof conn->err, "%s", strerror(-rc));
    return rc;
}

int cio_tls_conn_handshake(cio_tls_conn_t *conn, int64_t deadline_ms)
{
    if (conn->broken)
        return -EPIPE;
    while (!conn->done) {
        ERR_clear_error();
        int ret = SSL_do_handshake(conn->ssl);
        if (ret == 1) {
            conn->done = true;
            break;
        }
        int rc = settle(conn, ret, deadline_ms);
        if (rc == 1) {
            conn->broken = true;
            snprintf(conn->err, sizeof conn->err, "closed during handshake");
            return -ECONNABORTED;
        }
        if (rc < 0)
            return rc;
    }
    /* Sessions cached by ID (TLS 1.2 without tickets) get the tag too. */
    if (conn->server && conn->tag_len > 0 && !SSL_session_reused(conn->ssl))
        SSL_SESSION_set1_ticket_appdata(SSL_get0_session(conn->ssl), conn->tag,
                                        conn->tag_len);
    return 0;
}

/* SSL_read_ex gives one record at a time: the records read ahead are
 * added to the same call, without waiting, and a bulk read with room for
 * another record also takes what the socket has (a caller that writes what
 * it reads to a file then writes fewer, larger blocks). What stops it is
 * kept for the next call (conn->held): close_notify, or an error whose
 * reason is taken now (OpenSSL's error queue is the thread's, cleared by
 * every call). */
static size_t read_more(cio_tls_conn_t *conn, char *buf, size_t n)
{
    size_t total = 0, got;
    while (total < n && (SSL_has_pending(conn->ssl) ||
                         (conn->bulk && n - total >= CIO__TLS_RECORD))) {
        ERR_clear_error();
        int ret = SSL_read_ex(conn->ssl, buf + total, n - total, &got);
        if (ret == 1) {
            total += got;
            continue;
        }
        int saved_errno = errno;
        int e = SSL_get_error(conn->ssl, ret);
        if (e == SSL_ERROR_ZERO_RETURN)
            conn->held = 1;
        else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            conn->held = failure(conn, e, saved_errno);
        break;
    }
    ERR_clear_error();
    return total;
}

ssize_t cio_tls_conn_read(cio_tls_conn_t *conn, void *buf, size_t n,
                          int64_t deadline_ms)
{
    int rc = cio_tls_conn_handshake(conn, deadline_ms);
    if (rc < 0)
        return rc;
    if (n == 0)
        return 0;
    if (conn->held != 0) /* met by the last call's read_more */
        return conn->held == 1 ? 0 : conn->held;
    if (n > CIO__TLS_RECORD) /* room for several records */
        go_bulk(conn);
    for (;;) {
        size_t got = 0;
        ERR_clear_error();
        int ret = SSL_read_ex(conn->ssl, buf, n, &got);
        if (ret == 1)
            return (ssize_t)(got + read_more(conn, (char *)buf + got, n - got));
        rc = settle(conn, ret, deadline_ms);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
    }
}

/* Writes all n bytes; each successful SSL_write_ex makes one record. A
 * write of more than a record is a bulk one: its records gather in
 * conn->out and go out CIO__TLS_BATCH bytes per sendmsg, and all are sent
 * when it returns. */
static ssize_t write_all(cio_tls_conn_t *conn, const unsigned char *buf,
                         size_t n, int64_t deadline_ms)
{
    size_t done = 0;
    if (n > CIO__TLS_RECORD && !conn->ktls) {
        if (conn->out == NULL && (conn->out = malloc(CIO__TLS_BATCH)) == NULL)
            return -ENOMEM;
        go_bulk(conn);
        conn->cork = true;
    }
    while (done < n) {
        size_t put = 0;
        ERR_clear_error();
        int ret = SSL_write_ex(conn->ssl, buf + done, n - done, &put);
        if (ret == 1) {
            done += put;
            continue;
        }
        int rc = settle(conn, ret, deadline_ms);
        if (rc == 1) {
            conn->broken = true;
            rc = -EPIPE;
        }
        if (rc < 0) {
            conn->cork = false;
            return rc;
        }
    }
    conn->cork = false;
    int rc = flush_out(conn, deadline_ms);
    return rc < 0 ? rc : (ssize_t)n;
}

ssize_t cio_tls_conn_write(cio_tls_conn_t *conn, const void *buf, size_t n,
                           int64_t deadline_ms)
{
    int rc = cio_tls_conn_handshake(conn, deadline_ms);
    if (rc < 0)
        return rc;
    return write_all(conn, buf, n, deadline_ms);
}

ssize_t cio_tls_conn_writev(cio_tls_conn_t *conn, const struct iovec *iov,
                            int iovcnt, int64_t deadline_ms)
{
    int rc = cio_tls_conn_handshake(conn, deadline_ms);
    if (rc < 0)
        return rc;
    if (conn->pack == NULL && (conn->pack = malloc(CIO__TLS_RECORD)) == NULL)
        return -ENOMEM;
    size_t packed = 0, total = 0;
    for (int i = 0; i < iovcnt; i++) {
        const unsigned char *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        total += left;
        while (left > 0) {
            /* Whole records straight from the caller's buffer. */
            if (packed == 0 && left >= CIO__TLS_RECORD) {
                size_t whole = left - left % CIO__TLS_RECORD;
                ssize_t w = write_all(conn, p, whole, deadline_ms);
                if (w < 0)
                    return w;
                p += whole;
                left -= whole;
                continue;
            }
            size_t take = CIO__TLS_RECORD - packed;
            take = take < left ? take : left;
            memcpy(conn->pack + packed, p, take);
            packed += take;
            p += take;
            left -= take;
            if (packed == CIO__TLS_RECORD) {
                ssize_t w = write_all(conn, conn->pack, packed, deadline_ms);
                if (w < 0)
                    return w;
                packed = 0;
            }
        }
    }
    if (packed > 0) {
        ssize_t w = write_all(conn, conn->pack, packed, deadline_ms);
        if (w < 0)
            return w;
    }
    return (ssize_t)total;
}

bool cio_tls_conn_ktls_send(const cio_tls_conn_t *conn)
{
#ifndef OPENSSL_NO_KTLS
    return conn->ktls && conn->done &&
           BIO_get_ktls_send(SSL_get_wbio(conn->ssl));
#else
    return false;
#endif
}

/* Kernel TLS: the kernel reads the file and encrypts (SSL_sendfile). */
static ssize_t sendfile_ktls(cio_tls_conn_t *conn, int file_fd, off_t *offset,
                             size_t count, int64_t deadline_ms)
{
#ifndef OPENSSL_NO_KTLS
    for (;;) {
        ERR_clear_error();
        ossl_ssize_t n = SSL_sendfile(conn->ssl, file_fd, *offset, count, 0);
        if (n >= 0) {
            *offset += n;
            return n;
        }
        int rc = settle(conn, (int)n, deadline_ms);
        if (rc != 0)
            return rc == 1 ? -EPIPE : rc;
    }
#else
    return -EOPNOTSUPP;
#endif
}

ssize_t cio_tls_conn_sendfile(cio_tls_conn_t *conn, int file_fd, off_t *offset,
                              size_t count, bool *file_error,
                              int64_t deadline_ms)
{
    bool ferr_local;
    bool *ferr = file_error ? file_error : &ferr_local;
    *ferr = false;
    int rc = cio_tls_conn_handshake(conn, deadline_ms);
    if (rc < 0)
        return rc;
    if (cio_tls_conn_ktls_send(conn))
        return sendfile_ktls(conn, file_fd, offset, count, deadline_ms);
    if (conn->file_buf == NULL &&
        (conn->file_buf = malloc(CIO__TLS_FILE_BUF)) == NULL)
        return -ENOMEM;
    size_t sent = 0;
    while (sent < count) {
        size_t want =
            count - sent < CIO__TLS_FILE_BUF ? count - sent : CIO__TLS_FILE_BUF;
        ssize_t n = pread(file_fd, conn->file_buf, want, *offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *ferr = sent == 0;
            return sent > 0 ? (ssize_t)sent : -errno;
        }
        if (n == 0)
            break;
        ssize_t w = write_all(conn, conn->file_buf, (size_t)n, deadline_ms);
        if (w < 0)
            return sent > 0 ? (ssize_t)sent : w;
        *offset += n;
        sent += (size_t)n;
    }
    return (ssize_t)sent;
}

int cio_tls_conn_shutdown(cio_tls_conn_t *conn, int64_t deadline_ms)
{
    if (conn->broken || !conn->done)
        return -EPIPE;
    for (;;) {
        ERR_clear_error();
        int ret = SSL_shutdown(conn->ssl);
        if (ret >= 0) /* 0: sent, the peer's not awaited */
            return 0;
        int rc = settle(conn, ret, deadline_ms);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return rc;
    }
}

void cio_tls_conn_free(cio_tls_conn_t *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl);
    free(conn->pack);
    free(conn->out);
    free(conn->file_buf);
    free(conn);
}

const char *cio_tls_conn_error(const cio_tls_conn_t *conn)
{
    return conn->err;
}

bool cio_tls_conn_resumed(const cio_tls_conn_t *conn)
{
    return conn->done && SSL_session_reused(conn->ssl);
}

const char *cio_tls_conn_version(const cio_tls_conn_t *conn)
{
    return SSL_get_version(conn->ssl);
}

const char *cio_tls_conn_cipher(const cio_tls_conn_t *conn)
{
    return SSL_get_cipher_name(conn->ssl);
}

const char *cio_tls_conn_alpn(const cio_tls_conn_t *conn)
{
    static _Thread_local char name[256];
    const unsigned char *p;
    unsigned len;
    SSL_get0_alpn_selected(conn->ssl, &p, &len);
    if (len == 0)
        return NULL;
    memcpy(name, p, len);
    name[len] = '\0';
    return name;
}

const char *cio_tls_conn_server_name(const cio_tls_conn_t *conn)
{
    return SSL_get_servername(conn->ssl, TLSEXT_NAMETYPE_host_name);
}

int cio_tls_conn_fd(const cio_tls_conn_t *conn)
{
    return conn->fd;
}

int cio_tls_conn_session_tag(const cio_tls_conn_t *conn, void *buf, size_t cap)
{
    const void *data = NULL;
    size_t len = 0;
    if (!cio_tls_conn_resumed(conn))
        return -ENOENT;
    SSL_SESSION *sess = SSL_get0_session(conn->ssl);
    if (sess == NULL ||
        SSL_SESSION_get0_ticket_appdata(sess, (void **)&data, &len) != 1 ||
        len == 0)
        return -ENOENT;
    if (len > cap)
        return -ENOBUFS;
    memcpy(buf, data, len);
    return (int)len;
}

int cio_tls_conn_session_get(cio_tls_conn_t *conn, cio_tls_session_t **out)
{
    SSL_SESSION *sess = SSL_get1_session(conn->ssl);
    if (sess == NULL)
        return -ENOENT;
    if (!SSL_SESSION_is_resumable(sess)) {
        SSL_SESSION_free(sess);
        return -ENOENT;
    }
    *out = (cio_tls_session_t *)sess;
    return 0;
}

void cio_tls_session_free(cio_tls_session_t *sess)
{
    SSL_SESSION_free((SSL_SESSION *)sess);
}
