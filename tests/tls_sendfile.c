/* cio_tls_conn_sendfile: a 3 MiB file (with a tail that is not a whole
 * record) sent from an offset, whole and intact, over TLS 1.2 and 1.3; a
 * file that cannot be read is reported as a file error and leaves the
 * connection usable. With ktls asked for, the kernel TLS path runs where
 * the kernel has the tls ULP; elsewhere the connection must fall back to
 * user-space TLS (checked), and the test then says SKIP for the kernel
 * path once everything else passed.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#ifdef CIO_NO_TLS
#include "check.h"
int main(void)
{
    CHECK_SKIP("built without OpenSSL");
}
#else
#include <fcntl.h>
#include <openssl/opensslconf.h>
#include <sys/random.h>

#include "tls_util.h"

enum { FILE_SIZE = (3 << 20) + 12345, START = 1000 };

static tls_certs_t certs;
static char path[128];
static unsigned char *data; /* the file's bytes */

/* Whether this kernel offers kernel TLS (the tls ULP is loaded). */
static bool ulp_tls(void)
{
#ifdef OPENSSL_NO_KTLS
    return false; /* this OpenSSL cannot use it */
#endif
    char line[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
    if (f == NULL)
        return false;
    bool found =
        fgets(line, sizeof line, f) != NULL &&
        (strstr(line, "tls ") || strstr(line, "tls\n") || !strcmp(line, "tls"));
    fclose(f);
    return found;
}

typedef struct sender {
    cio_tls_ctx_t *ctx;
    int listen_fd;
    bool ktls;      /* the kernel took the keys */
    bool file_err;  /* the unreadable file was reported as such */
    long long sent; /* bytes of the file sent */
} sender_t;

static void *send_task(void *arg)
{
    sender_t *s = arg;
    int fd = cio_sock_accept(s->listen_fd, NULL, NULL, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_tls_conn_t *conn;
    CHECK_EQ(cio_tls_conn_new(&conn, s->ctx, fd, NULL), 0);
    CHECK_EQ(cio_tls_conn_handshake(conn, cio_deadline_in(5000)), 0);
    s->ktls = cio_tls_conn_ktls_send(conn);

    /* A file open for writing only cannot be read: a file error. */
    int wfd = open(path, O_WRONLY | O_CLOEXEC);
    CHECK(wfd >= 0);
    off_t off = 0;
    ssize_t n = cio_tls_conn_sendfile(conn, wfd, &off, 4096, &s->file_err,
                                      cio_deadline_in(5000));
    CHECK(n < 0);
    CHECK_EQ(off, 0);
    close(wfd);

    int file = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(file >= 0);
    off = START;
    while ((n = cio_tls_conn_sendfile(conn, file, &off, 1 << 20, NULL,
                                      cio_deadline_in(5000))) > 0)
        s->sent += n;
    CHECK_EQ(n, 0);
    CHECK_EQ(off, FILE_SIZE);
    close(file);
    CHECK_EQ(cio_tls_conn_shutdown(conn, cio_deadline_in(5000)), 0);
    tls_close(conn);
    return NULL;
}

static bool one(int version, bool ask_ktls)
{
    cio_tls_ctx_opts_t so = {.server = true,
                             .cert_file = tls_path(&certs, "a.crt"),
                             .key_file = tls_path(&certs, "a.key"),
                             .min_version = version,
                             .max_version = version,
                             .ktls = ask_ktls};
    sender_t s = {.ctx = tls_ctx_make(&so)};
    uint16_t port;
    s.listen_fd = tls_listen(&port);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, send_task, &s), 0);

    cio_tls_ctx_opts_t co = {.ca_file = tls_path(&certs, "a.crt")};
    cio_tls_ctx_t *client = tls_ctx_make(&co);
    int rc;
    cio_tls_conn_t *conn = tls_dial(client, port, "localhost", NULL, &rc);
    CHECK_EQ(rc, 0);
    size_t want = FILE_SIZE - START, got = 0;
    unsigned char *buf = malloc(want + 1);
    CHECK(buf != NULL);
    ssize_t r;
    while ((r = cio_tls_conn_read(conn, buf + got, want + 1 - got,
                                  cio_deadline_in(5000))) > 0)
        got += (size_t)r;
    CHECK_EQ(r, 0); /* close_notify */
    CHECK_EQ(got, want);
    CHECK(memcmp(buf, data + START, want) == 0);
    free(buf);
    tls_close(conn);
    cio_tls_ctx_free(client);

    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    cio_fd_close(s.listen_fd);
    cio_tls_ctx_free(s.ctx);
    CHECK(s.file_err);
    CHECK_EQ(s.sent, (long long)want);
    if (!ask_ktls)
        CHECK(!s.ktls); /* never without being asked for */
    fprintf(stderr, "TLS %x, ktls %s: %s\n", version,
            ask_ktls ? "asked" : "not asked",
            s.ktls ? "kernel TLS" : "user-space TLS");
    return s.ktls;
}

static bool ktls_ran;

static void *main_task(void *arg)
{
    one(CIO_TLS_1_2, false);
    one(CIO_TLS_1_3, false);
    ktls_ran = one(CIO_TLS_1_2, true);
    ktls_ran = one(CIO_TLS_1_3, true) && ktls_ran;
    return NULL;
}

int main(void)
{
    tls_certs_make(&certs, "a");
    snprintf(path, sizeof path, "%s/file", certs.dir);
    data = malloc(FILE_SIZE);
    CHECK(data != NULL);
    for (size_t i = 0; i < FILE_SIZE; i += 256)
        CHECK(getrandom(data + i, FILE_SIZE - i < 256 ? FILE_SIZE - i : 256,
                        0) > 0);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, FILE_SIZE), FILE_SIZE);
    close(fd);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    free(data);
    tls_certs_cleanup(&certs);
    if (!ulp_tls()) {
        /* The fallback ran and passed; the kernel path could not. */
        puts("SKIP: kernel TLS path not run: no tls ULP in "
             "/proc/sys/net/ipv4/tcp_available_ulp (user-space fallback "
             "passed)");
        return 77;
    }
    /* The kernel offers it: OpenSSL must have used it. */
    CHECK(ktls_ran);
    puts("tls_sendfile: ok (kernel TLS)");
    return 0;
}
#endif
