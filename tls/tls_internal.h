/* Private parts shared by the TLS context and connection code. */
#ifndef CIO_TLS_INTERNAL_H
#define CIO_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>

#include "corio/tls.h"

enum { CIO__TLS_TAG_MAX = 64, CIO__TLS_RECORD = 16384 };

struct cio_tls_ctx {
    SSL_CTX *ssl;         /* shared by every connection made from it */
    pthread_mutex_t lock; /* orders SSL_new against a reload */
    bool server;          /* accept side */
    bool verify;          /* client: check the server's chain and name */
};

struct cio_tls_conn {
    SSL *ssl;
    int fd;
    bool server;
    bool verify; /* a name check was asked for */
    bool done;   /* handshake finished */
    bool broken; /* a fatal error: no shutdown allowed */
    unsigned char tag[CIO__TLS_TAG_MAX]; /* bound to sessions we issue */
    size_t tag_len;
    unsigned char *pack; /* writev's record buffer, made on first use */
    char err[256];       /* reason text of the last failure */
};

/* Copies OpenSSL's queued reason (or fallback) to buf[len] and clears the
 * queue. */
void cio__tls_reason(char *buf, size_t len, const char *fallback);

/* The connection owning ssl (set as its app data). */
cio_tls_conn_t *cio__tls_conn_of(const SSL *ssl);

#endif
