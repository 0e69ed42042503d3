/* TLS contexts: versions, ciphers, verification, certificates (reloadable),
 * ALPN and the session tickets that carry a connection's tag. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tls_internal.h"

void cio__tls_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0)
        last = e; /* the last one queued is the closest to the cause */
    if (buf == NULL || len == 0)
        return;
    if (last != 0)
        ERR_error_string_n(last, buf, len);
    else
        snprintf(buf, len, "%s", fallback);
}

static int fail(int err, char *buf, size_t len, const char *what)
{
    char reason[200];
    cio__tls_reason(reason, sizeof reason, strerror(-err));
    if (buf != NULL && len > 0)
        snprintf(buf, len, "%s: %s", what, reason);
    return err;
}

/* -ENOENT/-EACCES when path cannot be read, else 0. */
static int readable(const char *path)
{
    return access(path, R_OK) == 0 ? 0 : -errno;
}

/* Loads cert_file's chain and key_file's key into ssl, checking they match. */
static int load_pair(SSL_CTX *ssl, const char *cert_file, const char *key_file,
                     char *buf, size_t len)
{
    int rc;
    if ((rc = readable(cert_file)) < 0)
        return fail(rc, buf, len, cert_file);
    if ((rc = readable(key_file)) < 0)
        return fail(rc, buf, len, key_file);
    if (SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1)
        return fail(-EINVAL, buf, len, cert_file);
    if (SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1) {
        unsigned long e = ERR_peek_last_error();
        bool mismatch = ERR_GET_LIB(e) == ERR_LIB_X509 &&
                        (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH ||
                         ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
        return fail(mismatch ? -EKEYREJECTED : -EINVAL, buf, len, key_file);
    }
    if (SSL_CTX_check_private_key(ssl) != 1)
        return fail(-EKEYREJECTED, buf, len, "key does not match certificate");
    return 0;
}

/* Puts the comma list "h2,http/1.1" in ALPN wire format; length or -EINVAL. */
static int alpn_wire(const char *list, unsigned char *out, size_t cap)
{
    size_t n = 0;
    while (*list != '\0') {
        size_t len = strcspn(list, ",");
        if (len == 0 || len > 255 || n + 1 + len > cap)
            return -EINVAL;
        out[n++] = (unsigned char)len;
        memcpy(out + n, list, len);
        n += len;
        list += len + (list[len] == ',');
    }
    return (int)n;
}

static int alpn_select(SSL *ssl, const unsigned char **out,
                       unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    const unsigned char *ours = arg;
    unsigned char *chosen;
    if (SSL_select_next_proto(&chosen, outlen, ours + 1, ours[0], in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

/* A ticket issued on a full handshake carries that connection's tag; one
 * issued on a resumed connection keeps the tag of the session it resumed
 * (copied with it), so the binding survives TLS 1.3's new tickets. */
static int ticket_gen(SSL *ssl, void *arg)
{
    cio_tls_conn_t *conn = cio__tls_conn_of(ssl);
    if (conn == NULL || conn->tag_len == 0 || SSL_session_reused(ssl))
        return 1;
    return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), conn->tag,
                                           conn->tag_len);
}

static SSL_TICKET_RETURN ticket_dec(SSL *ssl, SSL_SESSION *sess,
                                    const unsigned char *keyname,
                                    size_t keyname_len,
                                    SSL_TICKET_STATUS status, void *arg)
{
    switch (status) {
    case SSL_TICKET_SUCCESS:
        return SSL_TICKET_RETURN_USE;
    case SSL_TICKET_SUCCESS_RENEW:
        return SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
}

static void free_alpn(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                      long argl, void *argp)
{
    free(ptr);
}

/* The ex-data slot where a server context keeps its ALPN list (freed with
 * the context); one for the process, made once. */
static int alpn_idx = -1;
static pthread_once_t alpn_once = PTHREAD_ONCE_INIT;

static void alpn_index_init(void)
{
    alpn_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_alpn);
}

/* Versions, ciphers, groups and ALPN. */
static int set_protocol(cio_tls_ctx_t *ctx, const cio_tls_ctx_opts_t *o,
                        char *buf, size_t len)
{
    int min = o->min_version ? o->min_version : CIO_TLS_1_2;
    if (min != CIO_TLS_1_2 && min != CIO_TLS_1_3)
        return fail(-EINVAL, buf, len, "minimum version");
    if (o->max_version != 0 &&
        (o->max_version < min || o->max_version > CIO_TLS_1_3))
        return fail(-EINVAL, buf, len, "maximum version");
    if (!SSL_CTX_set_min_proto_version(ctx->ssl, min) ||
        !SSL_CTX_set_max_proto_version(ctx->ssl, o->max_version))
        return fail(-EINVAL, buf, len, "versions");
    if (o->ciphers && SSL_CTX_set_cipher_list(ctx->ssl, o->ciphers) != 1)
        return fail(-EINVAL, buf, len, "ciphers");
    if (o->ciphersuites &&
        SSL_CTX_set_ciphersuites(ctx->ssl, o->ciphersuites) != 1)
        return fail(-EINVAL, buf, len, "ciphersuites");
    if (o->groups && SSL_CTX_set1_groups_list(ctx->ssl, o->groups) != 1)
        return fail(-EINVAL, buf, len, "groups");
    if (o->alpn == NULL)
        return 0;
    unsigned char wire[256];
    int n = alpn_wire(o->alpn, wire, sizeof wire);
    if (n <= 0)
        return fail(-EINVAL, buf, len, "alpn");
    if (!ctx->server)
        return SSL_CTX_set_alpn_protos(ctx->ssl, wire, (unsigned)n) == 0
                   ? 0
                   : fail(-ENOMEM, buf, len, "alpn");
    /* The server keeps its list (length byte first) for the callback. */
    unsigned char *keep = malloc((size_t)n + 1);
    if (keep == NULL)
        return fail(-ENOMEM, buf, len, "alpn");
    pthread_once(&alpn_once, alpn_index_init);
    keep[0] = (unsigned char)n;
    memcpy(keep + 1, wire, (size_t)n);
    SSL_CTX_set_ex_data(ctx->ssl, alpn_idx, keep);
    SSL_CTX_set_alpn_select_cb(ctx->ssl, alpn_select, keep);
    return 0;
}

/* Certificates and verification for either side. */
static int set_identity(cio_tls_ctx_t *ctx, const cio_tls_ctx_opts_t *o,
                        char *buf, size_t len)
{
    int rc;
    if (ctx->server && (o->cert_file == NULL || o->key_file == NULL))
        return fail(-EINVAL, buf, len, "a server needs cert_file and key_file");
    if (o->cert_file != NULL || o->key_file != NULL) {
        if (o->cert_file == NULL || o->key_file == NULL)
            return fail(-EINVAL, buf, len,
                        "cert_file and key_file go together");
        if ((rc = load_pair(ctx->ssl, o->cert_file, o->key_file, buf, len)) < 0)
            return rc;
    }
    bool verify = ctx->server ? o->verify_client : !o->no_verify;
    if (!verify)
        return 0;
    if (o->ca_file != NULL) {
        if ((rc = readable(o->ca_file)) < 0)
            return fail(rc, buf, len, o->ca_file);
        if (SSL_CTX_load_verify_locations(ctx->ssl, o->ca_file, NULL) != 1)
            return fail(-EINVAL, buf, len, o->ca_file);
    } else if (SSL_CTX_set_default_verify_paths(ctx->ssl) != 1) {
        return fail(-EINVAL, buf, len, "system trust store");
    }
    int mode = SSL_VERIFY_PEER;
    if (ctx->server)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx->ssl, mode, NULL);
    ctx->verify = !ctx->server;
    return 0;
}

#ifndef OPENSSL_NO_KTLS
/* Kernel TLS needs the tls ULP (the tls module, loaded); without it
 * connections keep corio's own socket BIO. */
static bool ulp_tls_available(void)
{
    char line[256] = "", *save = NULL;
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "re");
    if (f == NULL)
        return false;
    bool found = false;
    if (fgets(line, sizeof line, f) != NULL)
        for (char *w = strtok_r(line, " \n", &save); w && !found;
             w = strtok_r(NULL, " \n", &save))
            found = strcmp(w, "tls") == 0;
    fclose(f);
    return found;
}
#endif

int cio_tls_ctx_new(cio_tls_ctx_t **out, const cio_tls_ctx_opts_t *opts,
                    char *err_buf, size_t err_len)
{
    static const unsigned char sid_ctx[] = "corio-tls";
    ERR_clear_error();
    cio_tls_ctx_t *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return fail(-ENOMEM, err_buf, err_len, "context");
    ctx->server = opts->server;
    ctx->ssl =
        SSL_CTX_new(opts->server ? TLS_server_method() : TLS_client_method());
    if (ctx->ssl == NULL) {
        free(ctx);
        return fail(-ENOMEM, err_buf, err_len, "context");
    }
    pthread_mutex_init(&ctx->lock, NULL);
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                   SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                   SSL_MODE_RELEASE_BUFFERS);
#ifndef OPENSSL_NO_KTLS
    if (opts->ktls && ulp_tls_available()) {
        ctx->ktls = true;
        SSL_CTX_set_options(ctx->ssl, SSL_OP_ENABLE_KTLS);
    }
#endif
    int rc = set_protocol(ctx, opts, err_buf, err_len);
    if (rc == 0)
        rc = set_identity(ctx, opts, err_buf, err_len);
    if (rc == 0 && opts->server) {
        SSL_CTX_set_session_id_context(ctx->ssl, sid_ctx, sizeof sid_ctx - 1);
        /* TLS 1.2 renegotiation buys nothing here and costs a handshake
         * per request to whoever asks: refused. */
        SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION);
        if (opts->no_tickets)
            SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_ticket_cb(ctx->ssl, ticket_gen, ticket_dec, NULL);
    }
    if (rc < 0) {
        cio_tls_ctx_free(ctx);
        return rc;
    }
    *out = ctx;
    return 0;
}

int cio_tls_ctx_reload(cio_tls_ctx_t *ctx, const char *cert_file,
                       const char *key_file, char *err_buf, size_t err_len)
{
    ERR_clear_error();
    /* Load into a scratch context first: a bad pair changes nothing. */
    SSL_CTX *fresh = SSL_CTX_new(TLS_server_method());
    if (fresh == NULL)
        return fail(-ENOMEM, err_buf, err_len, "reload");
    int rc = load_pair(fresh, cert_file, key_file, err_buf, err_len);
    if (rc == 0) {
        X509 *cert = SSL_CTX_get0_certificate(fresh);
        EVP_PKEY *key = SSL_CTX_get0_privatekey(fresh);
        STACK_OF(X509) *chain = NULL;
        SSL_CTX_get0_chain_certs(fresh, &chain);
        pthread_mutex_lock(&ctx->lock);
        if (SSL_CTX_use_certificate(ctx->ssl, cert) != 1 ||
            SSL_CTX_use_PrivateKey(ctx->ssl, key) != 1 ||
            SSL_CTX_set1_chain(ctx->ssl, chain) != 1)
            rc = fail(-EINVAL, err_buf, err_len, "reload");
        pthread_mutex_unlock(&ctx->lock);
    }
    SSL_CTX_free(fresh);
    return rc;
}

void cio_tls_ctx_free(cio_tls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl); /* connections hold their own references */
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}
