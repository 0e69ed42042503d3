/* TLS failures: a handshake that never finishes meets its deadline on both
 * sides, garbage instead of a ClientHello, certificate verification
 * failures (wrong name, untrusted), an EOF without close_notify, bad key
 * files; the server keeps serving others throughout.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#ifdef CIO_NO_TLS
#include "check.h"
int main(void)
{
    CHECK_SKIP("built without OpenSSL");
}
#else
#include <errno.h>

#include "tls_util.h"

static tls_certs_t certs;

/* Waits (bounded) until the server has finished n handshakes. */
static void wait_handshakes(tls_server_t *srv, int n)
{
    int64_t end = cio_deadline_in(5000);
    while (srv->handshakes < n && cio_hub_now() < end)
        cio_task_sleep(5);
    CHECK_EQ(srv->handshakes, n);
}

static void good_client(cio_tls_ctx_t *ctx, uint16_t port)
{
    int rc;
    cio_tls_conn_t *conn = tls_dial(ctx, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    tls_echo_check(conn, "others are still served");
    tls_close(conn);
}

/* A client that connects and says nothing: the server's deadline ends it. */
static void silent_client(tls_server_t *srv, uint16_t port)
{
    int before = srv->handshakes;
    int64_t start = cio_hub_now(); /* before the server's deadline starts */
    int fd = cio_tcp_dial("127.0.0.1", port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    wait_handshakes(srv, before + 1);
    CHECK_EQ(srv->last_rc, -ETIMEDOUT);
    CHECK(cio_hub_now() - start >= srv->handshake_ms - 20);
    cio_fd_close(fd);
}

/* A server that accepts and never answers: the client's deadline ends it. */
static void mute_server(cio_tls_ctx_t *client)
{
    uint16_t port;
    int lfd = tls_listen(&port);
    int fd = cio_tcp_dial("127.0.0.1", port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_tls_conn_t *conn;
    CHECK_EQ(cio_tls_conn_new(&conn, client, fd, "localhost"), 0);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_tls_conn_handshake(conn, cio_deadline_in(300)), -ETIMEDOUT);
    int64_t took = cio_hub_now() - start;
    CHECK(took >= 290 && took < 3000);
    CHECK_EQ(cio_tls_conn_read(conn, &took, 1, 0), -ETIMEDOUT);
    tls_close(conn);
    cio_fd_close(lfd);
}

static void garbage_client(tls_server_t *srv, uint16_t port)
{
    int before = srv->handshakes;
    int fd = cio_tcp_dial("127.0.0.1", port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    const char junk[] = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
    CHECK_EQ(cio_fd_write_all(fd, junk, sizeof junk - 1, cio_deadline_in(1000)),
             sizeof junk - 1);
    wait_handshakes(srv, before + 1);
    CHECK_EQ(srv->last_rc, -EPROTO);
    CHECK(srv->last_error[0] != '\0');
    fprintf(stderr, "garbage: %s\n", srv->last_error);
    char c;
    /* The server hangs up (after an alert, maybe). */
    ssize_t r;
    while ((r = cio_fd_read(fd, &c, 1, cio_deadline_in(3000))) > 0)
        ;
    CHECK(r == 0 || r == -ECONNRESET);
    cio_fd_close(fd);
}

static void verify_failures(uint16_t port)
{
    /* Trusted certificate, wrong name. */
    cio_tls_ctx_opts_t o = {.ca_file = tls_path(&certs, "a.crt")};
    cio_tls_ctx_t *ctx = tls_ctx_make(&o);
    int rc;
    int fd = cio_tcp_dial("127.0.0.1", port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_tls_conn_t *conn;
    CHECK_EQ(cio_tls_conn_new(&conn, ctx, fd, "www.example.com"), 0);
    CHECK_EQ(cio_tls_conn_handshake(conn, cio_deadline_in(5000)),
             -EKEYREJECTED);
    fprintf(stderr, "wrong name: %s\n", cio_tls_conn_error(conn));
    CHECK(strstr(cio_tls_conn_error(conn), "hostname mismatch") != NULL);
    CHECK_EQ(cio_tls_conn_read(conn, &rc, 1, 0), -EPIPE);
    tls_close(conn);
    cio_tls_ctx_free(ctx);

    /* The system store does not know our self-signed certificate. */
    cio_tls_ctx_opts_t sys = {0};
    ctx = tls_ctx_make(&sys);
    CHECK(tls_dial(ctx, port, "localhost", NULL, &rc) == NULL);
    CHECK_EQ(rc, -EKEYREJECTED);
    cio_tls_ctx_free(ctx);

    /* Verification off: the same handshake passes. */
    cio_tls_ctx_opts_t off = {.no_verify = true};
    ctx = tls_ctx_make(&off);
    conn = tls_dial(ctx, port, "www.example.com", NULL, &rc);
    CHECK_EQ(rc, 0);
    tls_echo_check(conn, "unverified");
    tls_close(conn);
    cio_tls_ctx_free(ctx);
}

/* The peer closes TCP without close_notify: -ECONNABORTED, not EOF. */
typedef struct trunc {
    cio_tls_ctx_t *server;
    int lfd;
    ssize_t first, second;
} trunc_t;

static void *trunc_server(void *arg)
{
    trunc_t *t = arg;
    int fd = cio_sock_accept(t->lfd, NULL, NULL, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_tls_conn_t *s;
    CHECK_EQ(cio_tls_conn_new(&s, t->server, fd, NULL), 0);
    char b;
    t->first = cio_tls_conn_read(s, &b, 1, cio_deadline_in(5000));
    t->second = cio_tls_conn_read(s, &b, 1, cio_deadline_in(5000));
    tls_close(s);
    return NULL;
}

static void truncated(cio_tls_ctx_t *server, cio_tls_ctx_t *client)
{
    uint16_t port;
    trunc_t t = {.server = server, .lfd = tls_listen(&port)};
    cio_task_t *task;
    CHECK_EQ(cio_task_spawn(&task, trunc_server, &t), 0);
    int rc;
    cio_tls_conn_t *c = tls_dial(client, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    CHECK_EQ(cio_tls_conn_write(c, "x", 1, cio_deadline_in(5000)), 1);
    tls_close(c);
    CHECK_EQ(cio_task_join(task, cio_deadline_in(5000)), 0);
    cio_task_free(task);
    CHECK_EQ(t.first, 1);
    CHECK_EQ(t.second, -ECONNABORTED);
    cio_fd_close(t.lfd);
}

static void *main_task(void *arg)
{
    cio_tls_ctx_opts_t so = {.server = true,
                             .cert_file = tls_path(&certs, "a.crt"),
                             .key_file = tls_path(&certs, "a.key")};
    tls_server_t srv = {.ctx = tls_ctx_make(&so), .handshake_ms = 300};
    uint16_t port;
    srv.listen_fd = tls_listen(&port);
    cio_task_t *server;
    CHECK_EQ(cio_task_spawn(&server, tls_server_run, &srv), 0);
    cio_tls_ctx_opts_t co = {.ca_file = tls_path(&certs, "a.crt")};
    cio_tls_ctx_t *client = tls_ctx_make(&co);

    silent_client(&srv, port);
    good_client(client, port);
    mute_server(client);
    garbage_client(&srv, port);
    good_client(client, port);
    verify_failures(port);
    good_client(client, port);
    truncated(srv.ctx, client);

    cio_fd_close(srv.listen_fd);
    CHECK_EQ(cio_task_join(server, cio_deadline_in(5000)), 0);
    cio_task_free(server);
    cio_tls_ctx_free(client);
    cio_tls_ctx_free(srv.ctx);
    return NULL;
}

/* Contexts refuse missing files and a key that is not the certificate's. */
static void bad_files(void)
{
    char err[256];
    cio_tls_ctx_t *ctx;
    cio_tls_ctx_opts_t o = {.server = true,
                            .cert_file = tls_path(&certs, "a.crt"),
                            .key_file = tls_path(&certs, "b.key")};
    CHECK_EQ(cio_tls_ctx_new(&ctx, &o, err, sizeof err), -EKEYREJECTED);
    fprintf(stderr, "mismatch: %s\n", err);
    o.key_file = tls_path(&certs, "missing.key");
    CHECK_EQ(cio_tls_ctx_new(&ctx, &o, err, sizeof err), -ENOENT);
    CHECK(strstr(err, "missing.key") != NULL);
    o.key_file = NULL;
    CHECK_EQ(cio_tls_ctx_new(&ctx, &o, err, sizeof err), -EINVAL);
    cio_tls_ctx_opts_t v = {.min_version = 0x0301};
    CHECK_EQ(cio_tls_ctx_new(&ctx, &v, err, sizeof err), -EINVAL);
    cio_tls_ctx_opts_t c = {.ciphers = "NO-SUCH-CIPHER"};
    CHECK_EQ(cio_tls_ctx_new(&ctx, &c, err, sizeof err), -EINVAL);
}

int main(void)
{
    tls_certs_make(&certs, "a");
    tls_certs_make(&certs, "b");
    bad_files();
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    tls_certs_cleanup(&certs);
    puts("tls_faults: ok");
    return 0;
}
#endif
