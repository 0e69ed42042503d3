/* Certificate reload under traffic: long-lived connections keep echoing
 * while the server's pair changes from a to b; new clients get b; a bad
 * pair is refused and changes nothing; sessions made before still resume.
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

enum { TALKERS = 4 };

static tls_certs_t certs;
static cio_tls_ctx_t *trust_a, *trust_b;
static uint16_t port;
static bool stopping;

static cio_tls_ctx_t *client_trusting(const char *crt)
{
    cio_tls_ctx_opts_t o = {.ca_file = tls_path(&certs, crt)};
    cio_tls_ctx_t *ctx;
    CHECK_EQ(cio_tls_ctx_new(&ctx, &o, NULL, 0), 0);
    return ctx;
}

/* One connection made before the reload, echoing until told to stop. */
static void *talker(void *arg)
{
    long *rounds = arg;
    int rc;
    cio_tls_conn_t *conn = tls_dial(trust_a, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    while (!stopping) {
        tls_echo_check(conn, "through the reload");
        (*rounds)++;
    }
    tls_close(conn);
    return NULL;
}

static void wait_rounds(long *rounds, long more)
{
    long target[TALKERS];
    for (int i = 0; i < TALKERS; i++)
        target[i] = rounds[i] + more;
    int64_t end = cio_deadline_in(10000);
    for (int i = 0; i < TALKERS; i++)
        while (rounds[i] < target[i] && cio_hub_now() < end)
            cio_task_sleep(1);
    for (int i = 0; i < TALKERS; i++)
        CHECK(rounds[i] >= target[i]);
}

static void *main_task(void *arg)
{
    cio_tls_ctx_opts_t so = {.server = true,
                             .cert_file = tls_path(&certs, "a.crt"),
                             .key_file = tls_path(&certs, "a.key")};
    tls_server_t srv = {.handshake_ms = 5000};
    CHECK_EQ(cio_tls_ctx_new(&srv.ctx, &so, NULL, 0), 0);
    srv.listen_fd = tls_listen(&port);
    cio_task_t *server;
    CHECK_EQ(cio_task_spawn(&server, tls_server_run, &srv), 0);
    trust_a = client_trusting("a.crt");
    trust_b = client_trusting("b.crt");

    long rounds[TALKERS] = {0};
    cio_task_t *talkers[TALKERS];
    for (int i = 0; i < TALKERS; i++)
        CHECK_EQ(cio_task_spawn(&talkers[i], talker, &rounds[i]), 0);
    wait_rounds(rounds, 50);

    int rc;
    cio_tls_conn_t *before = tls_dial(trust_a, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    tls_echo_check(before, "session to resume");
    cio_tls_session_t *sess;
    CHECK_EQ(cio_tls_conn_session_get(before, &sess), 0);
    CHECK_EQ(cio_tls_conn_shutdown(before, cio_deadline_in(1000)), 0);
    tls_close(before);
    CHECK(tls_dial(trust_b, port, "localhost", NULL, &rc) == NULL);
    CHECK_EQ(rc, -EKEYREJECTED);

    /* A mismatched pair is refused; the server still presents a. */
    char err[256];
    CHECK_EQ(cio_tls_ctx_reload(srv.ctx, tls_path(&certs, "a.crt"),
                                tls_path(&certs, "b.key"), err, sizeof err),
             -EKEYREJECTED);
    cio_tls_conn_t *conn = tls_dial(trust_a, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    tls_close(conn);

    CHECK_EQ(cio_tls_ctx_reload(srv.ctx, tls_path(&certs, "b.crt"),
                                tls_path(&certs, "b.key"), err, sizeof err),
             0);
    wait_rounds(rounds, 50); /* old connections carry on */
    conn = tls_dial(trust_b, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    tls_echo_check(conn, "new certificate");
    tls_close(conn);
    CHECK(tls_dial(trust_a, port, "localhost", NULL, &rc) == NULL);
    CHECK_EQ(rc, -EKEYREJECTED);
    /* Resumption keys survive the reload. */
    conn = tls_dial(trust_a, port, "localhost", sess, &rc);
    CHECK_EQ(rc, 0);
    CHECK(cio_tls_conn_resumed(conn));
    tls_close(conn);
    cio_tls_session_free(sess);

    stopping = true;
    CHECK_EQ(cio_task_join_all(talkers, TALKERS, cio_deadline_in(5000)), 0);
    for (int i = 0; i < TALKERS; i++)
        cio_task_free(talkers[i]);
    cio_fd_close(srv.listen_fd);
    CHECK_EQ(cio_task_join(server, cio_deadline_in(5000)), 0);
    cio_task_free(server);
    cio_tls_ctx_free(trust_a);
    cio_tls_ctx_free(trust_b);
    cio_tls_ctx_free(srv.ctx);
    return NULL;
}

int main(void)
{
    tls_certs_make(&certs, "a");
    tls_certs_make(&certs, "b");
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    tls_certs_cleanup(&certs);
    puts("tls_reload: ok");
    return 0;
}
#endif
