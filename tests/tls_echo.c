/* TLS handshake and echo over real sockets: TLS 1.2 and 1.3, a verified
 * server name, SNI, ALPN, 1 MiB through writev of many small buffers, and
 * two worker threads sharing one context, each with its own hub.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#ifdef CIO_NO_TLS
#include "check.h"
int main(void)
{
    CHECK_SKIP("built without OpenSSL");
}
#else
#include <errno.h>
#include <pthread.h>

#include "tls_util.h"

static tls_certs_t certs;
static cio_tls_ctx_t *server_ctx;

static cio_tls_ctx_t *client_ctx(int version, const char *alpn)
{
    cio_tls_ctx_opts_t o = {.ca_file = tls_path(&certs, "a.crt"),
                            .min_version = version,
                            .max_version = version,
                            .alpn = alpn};
    cio_tls_ctx_t *ctx;
    char err[256];
    int rc = cio_tls_ctx_new(&ctx, &o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "client ctx: %s\n", err);
    CHECK_EQ(rc, 0);
    return ctx;
}

/* 64 pieces of 256 bytes packed into one record by writev, echoed back. */
static void big_writev(cio_tls_conn_t *conn)
{
    enum { PIECE = 256, PIECES = 4096, TOTAL = PIECE * PIECES };
    unsigned char *out = malloc(TOTAL), *in = malloc(TOTAL);
    struct iovec *iov = malloc(PIECES * sizeof *iov);
    CHECK(out && in && iov);
    for (size_t i = 0; i < TOTAL; i++)
        out[i] = (unsigned char)(i * 31 + i / 7);
    for (int i = 0; i < PIECES; i++)
        iov[i] = (struct iovec){out + (size_t)i * PIECE, PIECE};
    CHECK_EQ(cio_tls_conn_writev(conn, iov, 64, cio_deadline_in(5000)),
             64 * PIECE);
    size_t got = 0;
    while (got < 64 * PIECE) {
        ssize_t r = cio_tls_conn_read(conn, in + got, 64 * PIECE - got,
                                      cio_deadline_in(5000));
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK(memcmp(in, out, got) == 0);
    free(out);
    free(in);
    free(iov);
}

typedef struct bulk {
    cio_tls_conn_t *conn;
    size_t len;
} bulk_t;

static void *bulk_writer(void *arg)
{
    bulk_t *b = arg;
    enum { PIECES = 1024 };
    size_t piece = b->len / PIECES;
    unsigned char *out = malloc(b->len);
    struct iovec iov[PIECES];
    CHECK(out != NULL);
    for (size_t i = 0; i < b->len; i++)
        out[i] = (unsigned char)(i * 13 + i / 251);
    for (int i = 0; i < PIECES; i++)
        iov[i] = (struct iovec){out + (size_t)i * piece, piece};
    CHECK_EQ(cio_tls_conn_writev(b->conn, iov, PIECES, cio_deadline_in(10000)),
             b->len);
    free(out);
    return NULL;
}

/* 1 MiB out through writev while a second task reads the echo. */
static void bulk_echo(cio_tls_conn_t *conn)
{
    bulk_t b = {conn, 1 << 20};
    cio_task_t *writer;
    CHECK_EQ(cio_task_spawn(&writer, bulk_writer, &b), 0);
    unsigned char *in = malloc(b.len);
    CHECK(in != NULL);
    size_t got = 0;
    while (got < b.len) {
        ssize_t r = cio_tls_conn_read(conn, in + got, b.len - got,
                                      cio_deadline_in(10000));
        CHECK(r > 0);
        got += (size_t)r;
    }
    CHECK_EQ(cio_task_join(writer, cio_deadline_in(5000)), 0);
    cio_task_free(writer);
    for (size_t i = 0; i < b.len; i++)
        if (in[i] != (unsigned char)(i * 13 + i / 251))
            CHECK_EQ(i, -1);
    free(in);
}

static void *main_task(void *arg)
{
    tls_server_t srv = {.ctx = server_ctx, .handshake_ms = 5000};
    uint16_t port;
    srv.listen_fd = tls_listen(&port);
    cio_task_t *server;
    CHECK_EQ(cio_task_spawn(&server, tls_server_run, &srv), 0);

    const int versions[] = {CIO_TLS_1_2, CIO_TLS_1_3};
    for (int v = 0; v < 2; v++) {
        cio_tls_ctx_t *ctx = client_ctx(versions[v], "nope,echo");
        int rc;
        cio_tls_conn_t *conn = tls_dial(ctx, port, "localhost", NULL, &rc);
        CHECK_EQ(rc, 0);
        CHECK_STREQ(cio_tls_conn_version(conn), v ? "TLSv1.3" : "TLSv1.2");
        CHECK(cio_tls_conn_cipher(conn) != NULL);
        CHECK_STREQ(cio_tls_conn_alpn(conn), "echo");
        CHECK(!cio_tls_conn_resumed(conn));
        tls_echo_check(conn, "hello over tls");
        CHECK_STREQ(srv.sni, "localhost");
        big_writev(conn);
        bulk_echo(conn);
        tls_echo_check(conn, "still here");
        CHECK_EQ(cio_tls_conn_shutdown(conn, cio_deadline_in(1000)), 0);
        tls_close(conn);
        /* By IP address: no SNI, the name check uses the IP SAN. */
        conn = tls_dial(ctx, port, "127.0.0.1", NULL, &rc);
        CHECK_EQ(rc, 0);
        tls_echo_check(conn, "by address");
        CHECK_STREQ(srv.sni, "");
        tls_close(conn);
        cio_tls_ctx_free(ctx);
    }
    cio_fd_close(srv.listen_fd);
    CHECK_EQ(cio_task_join(server, cio_deadline_in(5000)), 0);
    cio_task_free(server);
    return NULL;
}

/* A worker thread: its own hub, server and client, the shared context. */
static void *thread_main(void *arg)
{
    int *ok = arg;
    *ok = cio_hub_run(NULL, main_task, NULL) == 0;
    return NULL;
}

int main(void)
{
    tls_certs_make(&certs, "a");
    cio_tls_ctx_opts_t so = {.server = true,
                             .cert_file = tls_path(&certs, "a.crt"),
                             .key_file = tls_path(&certs, "a.key"),
                             .alpn = "echo,other"};
    char err[256];
    int rc = cio_tls_ctx_new(&server_ctx, &so, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "server ctx: %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);

    pthread_t th[2];
    int ok[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, thread_main, &ok[i]), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK(ok[i]);
    }
    cio_tls_ctx_free(server_ctx);
    tls_certs_cleanup(&certs);
    puts("tls_echo: ok");
    return 0;
}
#endif
