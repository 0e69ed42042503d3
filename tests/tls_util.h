/* Helpers for the TLS tests: certificates made at run time with the openssl
 * command (the test skips without it), and a TLS echo server task. */
#ifndef CIO_TESTS_TLS_UTIL_H
#define CIO_TESTS_TLS_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "corio/tls.h"

/* A temporary directory with NAME.crt / NAME.key pairs for localhost. */
typedef struct tls_certs {
    char dir[64];
} tls_certs_t;

static void tls_certs_cleanup(tls_certs_t *c)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", c->dir);
}

/* Makes dir/NAME.crt and dir/NAME.key: a self-signed P-256 certificate for
 * localhost and 127.0.0.1. Skips the test when openssl is missing. */
static void tls_certs_make(tls_certs_t *c, const char *name)
{
    if (c->dir[0] == '\0') {
        if (system("command -v openssl >/dev/null 2>&1") != 0)
            CHECK_SKIP("the openssl command is not installed");
        snprintf(c->dir, sizeof c->dir, "/tmp/cio-tls-XXXXXX");
        CHECK(mkdtemp(c->dir) != NULL);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -days 2 -subj /CN=%s -addext "
             "subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '%s/%s.key' "
             "-out '%s/%s.crt' 2>/dev/null",
             name, c->dir, name, c->dir, name);
    CHECK_EQ(system(cmd), 0);
}

static const char *tls_path(const tls_certs_t *c, const char *file)
{
    static char buf[4][128];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", c->dir, file);
    return p;
}

/* A context from o, or the test fails naming OpenSSL's reason. */
static inline cio_tls_ctx_t *tls_ctx_make(const cio_tls_ctx_opts_t *o)
{
    cio_tls_ctx_t *ctx;
    char err[256];
    int rc = cio_tls_ctx_new(&ctx, o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "ctx: %s\n", err);
    CHECK_EQ(rc, 0);
    return ctx;
}

/* A listening socket on 127.0.0.1 and a free port. */
static int tls_listen(uint16_t *port)
{
    int fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(fd >= 0);
    *port = (uint16_t)cio_sock_port(fd);
    return fd;
}

/* Dials 127.0.0.1:port and runs a client handshake; NULL on failure with
 * *rc set. */
static cio_tls_conn_t *tls_dial(cio_tls_ctx_t *ctx, uint16_t port,
                                const char *host, const cio_tls_session_t *sess,
                                int *rc)
{
    int fd = cio_tcp_dial("127.0.0.1", port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_tls_conn_t *conn;
    CHECK_EQ(cio_tls_conn_new(&conn, ctx, fd, host), 0);
    if (sess != NULL)
        CHECK_EQ(cio_tls_conn_set_session(conn, sess), 0);
    *rc = cio_tls_conn_handshake(conn, cio_deadline_in(5000));
    if (*rc == 0)
        return conn;
    cio_tls_conn_free(conn);
    cio_fd_close(fd);
    return NULL;
}

static void tls_close(cio_tls_conn_t *conn)
{
    int fd = cio_tls_conn_fd(conn);
    cio_tls_conn_free(conn);
    cio_fd_close(fd);
}

/* An echo server: accepts on listen_fd until it is closed; each connection
 * gets tag (if any), handshakes and echoes until EOF. The last handshake
 * result, SNI name, resumption and tag seen are kept for the test. */
typedef struct tls_server {
    cio_tls_ctx_t *ctx;
    int listen_fd;
    int64_t handshake_ms; /* deadline for each handshake, from accept */
    const char *tag;      /* bound to the sessions issued */
    int last_rc;          /* last handshake's result */
    int handshakes;       /* finished handshakes, ok or not */
    int resumed;          /* resumed handshakes */
    char last_error[256];
    char sni[64];
    char seen_tag[65];
} tls_server_t;

typedef struct tls_server_conn {
    tls_server_t *srv;
    int fd;
} tls_server_conn_t;

static inline void *tls_server_conn(void *arg)
{
    tls_server_conn_t *sc = arg;
    tls_server_t *srv = sc->srv;
    cio_tls_conn_t *conn;
    CHECK_EQ(cio_tls_conn_new(&conn, srv->ctx, sc->fd, NULL), 0);
    if (srv->tag != NULL)
        CHECK_EQ(cio_tls_conn_set_tag(conn, srv->tag, strlen(srv->tag)), 0);
    int rc = cio_tls_conn_handshake(conn, cio_deadline_in(srv->handshake_ms));
    srv->last_rc = rc;
    srv->handshakes++;
    snprintf(srv->last_error, sizeof srv->last_error, "%s",
             cio_tls_conn_error(conn));
    if (rc == 0) {
        const char *sni = cio_tls_conn_server_name(conn);
        snprintf(srv->sni, sizeof srv->sni, "%s", sni ? sni : "");
        srv->resumed += cio_tls_conn_resumed(conn);
        int n = cio_tls_conn_session_tag(conn, srv->seen_tag, 64);
        srv->seen_tag[n > 0 ? n : 0] = '\0';
        char buf[8192];
        ssize_t got;
        while ((got = cio_tls_conn_read(conn, buf, sizeof buf, -1)) > 0)
            if (cio_tls_conn_write(conn, buf, (size_t)got, -1) != got)
                break;
        cio_tls_conn_shutdown(conn, cio_deadline_in(1000));
    }
    tls_close(conn);
    free(sc);
    return NULL;
}

static inline void *tls_server_run(void *arg)
{
    tls_server_t *srv = arg;
    int fd;
    while ((fd = cio_sock_accept(srv->listen_fd, NULL, NULL, -1)) >= 0) {
        tls_server_conn_t *sc = malloc(sizeof *sc);
        CHECK(sc != NULL);
        sc->srv = srv;
        sc->fd = fd;
        CHECK_EQ(cio_task_spawn(NULL, tls_server_conn, sc), 0);
    }
    return NULL;
}

/* Sends msg and checks it comes back. */
static inline void tls_echo_check(cio_tls_conn_t *conn, const char *msg)
{
    size_t n = strlen(msg);
    char buf[256];
    CHECK(n < sizeof buf);
    CHECK_EQ(cio_tls_conn_write(conn, msg, n, cio_deadline_in(5000)), n);
    size_t got = 0;
    while (got < n) {
        ssize_t r =
            cio_tls_conn_read(conn, buf + got, n - got, cio_deadline_in(5000));
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(buf, msg, n) == 0);
}

#endif
