/* Session resumption: TLS 1.2 with tickets and with session IDs, TLS 1.3
 * tickets; the session of one connection resumed on another, the server's
 * tag carried by the resumed session, no resumption without a session or
 * against a server with other keys.
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

static cio_tls_ctx_t *server_ctx(bool no_tickets)
{
    cio_tls_ctx_opts_t o = {.server = true,
                            .cert_file = tls_path(&certs, "a.crt"),
                            .key_file = tls_path(&certs, "a.key"),
                            .no_tickets = no_tickets};
    return tls_ctx_make(&o);
}

/* Starts an echo server on ctx; returns its port. */
static uint16_t start(tls_server_t *srv, cio_tls_ctx_t *ctx, cio_task_t **t)
{
    uint16_t port;
    *srv = (tls_server_t){.ctx = ctx, .handshake_ms = 5000, .tag = "control-1"};
    srv->listen_fd = tls_listen(&port);
    CHECK_EQ(cio_task_spawn(t, tls_server_run, srv), 0);
    return port;
}

static void stop(tls_server_t *srv, cio_task_t *t)
{
    cio_fd_close(srv->listen_fd);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    cio_tls_ctx_free(srv->ctx);
}

static void one_mode(int version, bool no_tickets)
{
    fprintf(stderr, "version %x, %s\n", version,
            no_tickets ? "session IDs" : "tickets");
    tls_server_t srv, other;
    cio_task_t *t1, *t2;
    uint16_t port = start(&srv, server_ctx(no_tickets), &t1);
    uint16_t other_port = start(&other, server_ctx(no_tickets), &t2);
    cio_tls_ctx_opts_t co = {.ca_file = tls_path(&certs, "a.crt"),
                             .min_version = version,
                             .max_version = version};
    cio_tls_ctx_t *client = tls_ctx_make(&co);

    int rc;
    cio_tls_conn_t *first = tls_dial(client, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    CHECK(!cio_tls_conn_resumed(first));
    tls_echo_check(first, "first"); /* TLS 1.3 tickets come after */
    cio_tls_session_t *sess;
    CHECK_EQ(cio_tls_conn_session_get(first, &sess), 0);

    /* The second connection resumes while the first is still open. */
    srv.tag = "data-1";
    cio_tls_conn_t *second = tls_dial(client, port, "localhost", sess, &rc);
    CHECK_EQ(rc, 0);
    CHECK(cio_tls_conn_resumed(second));
    tls_echo_check(second, "second");
    CHECK_EQ(srv.resumed, 1);
    CHECK_STREQ(srv.seen_tag, "control-1");
    tls_close(second);

    /* Without the session: a full handshake, no tag. */
    cio_tls_conn_t *third = tls_dial(client, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    CHECK(!cio_tls_conn_resumed(third));
    tls_echo_check(third, "third");
    CHECK_STREQ(srv.seen_tag, "");
    tls_close(third);

    /* Another server (other ticket keys, other cache) cannot resume it. */
    cio_tls_conn_t *elsewhere =
        tls_dial(client, other_port, "localhost", sess, &rc);
    CHECK_EQ(rc, 0);
    CHECK(!cio_tls_conn_resumed(elsewhere));
    tls_echo_check(elsewhere, "elsewhere");
    CHECK_EQ(other.resumed, 0);
    tls_close(elsewhere);

    cio_tls_session_free(sess);
    tls_close(first);
    cio_tls_ctx_free(client);
    stop(&srv, t1);
    stop(&other, t2);
}

static void *main_task(void *arg)
{
    one_mode(CIO_TLS_1_2, false);
    one_mode(CIO_TLS_1_2, true);
    one_mode(CIO_TLS_1_3, false);
    one_mode(CIO_TLS_1_3, true);
    return NULL;
}

int main(void)
{
    tls_certs_make(&certs, "a");
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    tls_certs_cleanup(&certs);
    puts("tls_resume: ok");
    return 0;
}
#endif
