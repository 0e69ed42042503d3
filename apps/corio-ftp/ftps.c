/* FTPS client helpers over libcorio_tls (see ftps.h). */
#include "ftps.h"

#include <corio.h>
#include <corio/tls.h>

#include <errno.h>
#include <stdio.h>

#ifdef CIO_HAVE_TLS

int ftps_ctx_new(cio_tls_ctx_t **out, const char *cafile, bool insecure,
                 char *err, size_t errlen)
{
    cio_tls_ctx_opts_t o = {.ca_file = cafile, .no_verify = insecure};
    return cio_tls_ctx_new(out, &o, err, errlen);
}

void ftps_ctx_free(cio_tls_ctx_t *ctx)
{
    cio_tls_ctx_free(ctx);
}

int ftps_connect(cio_tls_ctx_t *ctx, int fd, const char *host,
                 cio_tls_conn_t *resume_from, cio_tls_conn_t **out,
                 int64_t deadline_ms, char *err, size_t errlen)
{
    cio_tls_conn_t *t;
    int rc = cio_tls_conn_new(&t, ctx, fd, host);
    if (rc < 0) {
        snprintf(err, errlen, "TLS: %s", cio_strerror(rc));
        return rc;
    }
    cio_tls_session_t *sess;
    if (resume_from && cio_tls_conn_session_get(resume_from, &sess) == 0) {
        cio_tls_conn_set_session(t, sess);
        cio_tls_session_free(sess); /* the connection holds its own */
    }
    rc = cio_tls_conn_handshake(t, deadline_ms);
    if (rc < 0) {
        snprintf(err, errlen, "TLS handshake: %s",
                 cio_tls_conn_error(t)[0] ? cio_tls_conn_error(t)
                                          : cio_strerror(rc));
        cio_tls_conn_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

ssize_t ftps_read(cio_tls_conn_t *t, void *buf, size_t n, int64_t deadline_ms)
{
    ssize_t r = cio_tls_conn_read(t, buf, n, deadline_ms);
    return r == -ECONNABORTED ? 0 : r;
}

ssize_t ftps_write(cio_tls_conn_t *t, const void *buf, size_t n,
                   int64_t deadline_ms)
{
    return cio_tls_conn_write(t, buf, n, deadline_ms);
}

void ftps_close(cio_tls_conn_t **t, bool clean, int64_t deadline_ms)
{
    if (!*t)
        return;
    if (clean && cio_tls_conn_shutdown(*t, deadline_ms) == 0) {
        /* Wait for the server's close_notify: closing with bytes unread
         * would reset the connection under data it has not read yet. */
        char drain[512];
        for (int i = 0; i < 64; i++)
            if (cio_tls_conn_read(*t, drain, sizeof drain, deadline_ms) <= 0)
                break;
    }
    cio_tls_conn_free(*t);
    *t = NULL;
}

#else /* without OpenSSL */

int ftps_ctx_new(cio_tls_ctx_t **out, const char *cafile, bool insecure,
                 char *err, size_t errlen)
{
    snprintf(err, errlen, "built without OpenSSL: no FTPS");
    return -ENOTSUP;
}

void ftps_ctx_free(cio_tls_ctx_t *ctx)
{
}

int ftps_connect(cio_tls_ctx_t *ctx, int fd, const char *host,
                 cio_tls_conn_t *resume_from, cio_tls_conn_t **out,
                 int64_t deadline_ms, char *err, size_t errlen)
{
    snprintf(err, errlen, "built without OpenSSL: no FTPS");
    return -ENOTSUP;
}

ssize_t ftps_read(cio_tls_conn_t *t, void *buf, size_t n, int64_t deadline_ms)
{
    return -ENOTSUP;
}

ssize_t ftps_write(cio_tls_conn_t *t, const void *buf, size_t n,
                   int64_t deadline_ms)
{
    return -ENOTSUP;
}

void ftps_close(cio_tls_conn_t **t, bool clean, int64_t deadline_ms)
{
}

#endif
