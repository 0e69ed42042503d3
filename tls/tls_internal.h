/* Private parts shared by the TLS context and connection code. */
#ifndef CIO_TLS_INTERNAL_H
#define CIO_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>

#include "corio/tls.h"

enum {
    CIO__TLS_TAG_MAX = 64,
    CIO__TLS_RECORD = 16384,       /* the largest plaintext of one record */
    CIO__TLS_READ_BUF = 65536,     /* read-ahead: records taken per recv */
    CIO__TLS_BATCH = 65536 + 8192, /* bulk writes: bytes of records per send */
    CIO__TLS_FILE_BUF = 256 << 10  /* sendfile: file bytes read per pread */
};

struct cio_tls_ctx {
    SSL_CTX *ssl;         /* shared by every connection made from it */
    pthread_mutex_t lock; /* orders SSL_new against a reload */
    bool server;          /* accept side */
    bool verify;          /* client: check the server's chain and name */
    bool ktls;            /* kernel TLS asked for and offered by the kernel */
};

struct cio_tls_conn {
    SSL *ssl;
    int fd;
    bool server;
    bool verify; /* a name check was asked for */
    bool done;   /* handshake finished */
    bool broken; /* a fatal error: no shutdown allowed */
    bool bulk;   /* moves bulk data: OpenSSL's buffers are kept */
    bool cork;   /* a bulk write runs: records gather in out */
    bool ktls;   /* OpenSSL's socket BIO, kernel TLS asked for */
    int held;    /* what ended a read early: 1 close_notify, or -errno */
    unsigned char tag[CIO__TLS_TAG_MAX]; /* bound to sessions we issue */
    size_t tag_len;
    unsigned char *pack;     /* writev's record buffer, made on first use */
    unsigned char *out;      /* CIO__TLS_BATCH bytes of records not yet sent */
    size_t out_off, out_len; /* out[out_off..out_len) is waiting */
    unsigned char *file_buf; /* sendfile's CIO__TLS_FILE_BUF, on first use */
    char err[256];           /* reason text of the last failure */
};

/* Copies OpenSSL's queued reason (or fallback) to buf[len] and clears the
 * queue. */
void cio__tls_reason(char *buf, size_t len, const char *fallback);

/* The connection owning ssl (set as its app data). */
cio_tls_conn_t *cio__tls_conn_of(const SSL *ssl);

#endif
