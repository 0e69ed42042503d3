/* An echo server in the automatic gear: a task per connection, written as
 * straight-line blocking code; the hub turns every wait into a switch.
 *
 *   echo_server [-p PORT] [-b select|poll|epoll|uring] [-s copied|own]
 *               [-w N [-a]] [-v] [--tls CERT KEY]
 *
 * Prints "listening on 127.0.0.1:PORT" when ready (-p 0 picks a port) and
 * exits 0 on SIGINT or SIGTERM once every connection is closed. With -w N,
 * N worker threads each run a hub and accept on their own SO_REUSEPORT
 * socket (one shared socket where the kernel lacks it); -a pins each
 * worker to its own CPU. With --tls CERT KEY (when built with OpenSSL)
 * every connection is a TLS server session (libcorio_tls), one context
 * shared by the workers. -s picks how connection tasks keep their stacks:
 * copied (shared stacks, a waiting task keeps its frames only;
 * cio_hub_set_copied_stacks; the default without --tls) or own (a stack
 * each, a page touched; the default with --tls). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"
#include "corio.h"
#include "corio/tls.h"

enum {
    ECHO_BUF = 2048, /* bytes per read */
};

/* Reads land in one buffer shared by every connection of a hub: its tasks
 * never run at once, and the reply is sent before the task can wait. A
 * buffer per connection would put the kernel's copies in a cold cache line
 * on every round trip (the hand-written servers share one buffer too). */
static _Thread_local char scratch[ECHO_BUF];

/* Settings from the command line. */
typedef struct options {
    int port;            /* -p */
    const char *backend; /* -b */
    int verbose;         /* -v */
    int workers;         /* -w: worker threads, 0 = one hub, this thread */
    int pin;             /* -a: one CPU per worker */
    const char *tls_cert, *tls_key; /* --tls CERT KEY */
    cio_tls_ctx_t *tls;             /* made from them; NULL = plain TCP */
    int copied; /* -s: 1 copied (tasks share stacks), 0 own, -1 not given */
} options_t;

static options_t opts = {.port = 9999, .copied = -1};

/* The part of a reply the socket did not take at once is copied out of the
 * shared buffer to this task's stack before the task waits to send it. */
static __attribute__((noinline)) int send_rest(int fd, const char *rest,
                                               size_t n)
{
    char own[ECHO_BUF];
    memcpy(own, rest, n);
    return cio_fd_write_all(fd, own, n, -1) < 0 ? -1 : 0;
}

#ifdef CIO_HAVE_TLS
/* The TLS variant. Each connection reads into its own 16 KiB buffer: a
 * write may wait halfway through (the shared scratch buffer would be
 * overwritten meanwhile), and a full buffer makes a full record. */
static void echo_tls(int fd)
{
    enum { RECORD = 16384 };
    cio_tls_conn_t *conn;
    char *buf = malloc(RECORD);
    if (buf == NULL || cio_tls_conn_new(&conn, opts.tls, fd, NULL) < 0) {
        free(buf);
        return;
    }
    int rc = cio_tls_conn_handshake(conn, cio_deadline_in(10000));
    if (rc < 0 && opts.verbose)
        printf("fd %d: handshake: %s\n", fd, cio_tls_conn_error(conn));
    ssize_t n = rc;
    while (n >= 0 && (n = cio_tls_conn_read(conn, buf, RECORD, -1)) > 0)
        n = cio_tls_conn_write(conn, buf, (size_t)n, -1);
    if (n == 0)
        cio_tls_conn_shutdown(conn, cio_deadline_in(1000));
    cio_tls_conn_free(conn);
    free(buf);
}
#endif

/* The plain echo loop, until the client leaves; closes fd. Only fd
 * lives across its waits, so its frame, which a waiting task keeps (all of
 * its memory with copied stacks), is two words. */
static __attribute__((noinline)) void echo_plain(int fd)
{
    for (;;) {
        ssize_t n = cio_fd_read(fd, scratch, sizeof scratch, -1);
        if (n <= 0)
            break;
        ssize_t sent = cio_fd_write(fd, scratch, (size_t)n, 0); /* no wait */
        if (sent == -ETIMEDOUT)
            sent = 0;
        if (sent < 0 ||
            (sent < n && send_rest(fd, scratch + sent, (size_t)(n - sent)) < 0))
            break;
    }
    if (opts.verbose)
        printf("closing fd %d\n", fd);
    cio_fd_close(fd);
}

/* Apart so that handle_conn has no local whose address is taken: it can
 * then hand over to echo_plain with a jump. */
static __attribute__((noinline)) void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void handle_conn(int fd, const struct sockaddr *peer, socklen_t peer_len,
                        void *data)
{
    (void)data;
    set_nodelay(fd);
    if (opts.verbose && peer->sa_family == AF_INET &&
        peer_len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
        printf("connection from %s:%d on fd %d\n", inet_ntoa(in->sin_addr),
               ntohs(in->sin_port), fd);
    }
#ifdef CIO_HAVE_TLS
    if (opts.tls != NULL) {
        echo_tls(fd);
        if (opts.verbose)
            printf("closing fd %d\n", fd);
        cio_fd_close(fd);
        return;
    }
#endif
    echo_plain(fd); /* a tail call: this frame is gone while it waits */
}

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    (void)loop, (void)signum;
    cio_event_set(data);
}

/* Serves on listen_fd until SIGINT or SIGTERM. */
static int serve(int listen_fd)
{
    cio_event_t *stop;
    cio_server_t *srv;
    int rc = cio_event_new(&stop);
    if (rc < 0)
        return rc;
    cio_loop_t *loop = cio_hub_loop();
    if ((rc = cio_loop_signal(loop, SIGINT, on_signal, stop)) < 0 ||
        (rc = cio_loop_signal(loop, SIGTERM, on_signal, stop)) < 0 ||
        (rc = cio_server_start(&srv, listen_fd, handle_conn, NULL, 0)) < 0) {
        cio_event_free(stop);
        return rc;
    }
    printf("listening on 127.0.0.1:%d\n", cio_sock_port(listen_fd));
    fflush(stdout);
    rc = cio_event_wait(stop, -1);
    /* Connections are killed at once: their reads return -ECANCELED and
     * each handler closes its socket. */
    cio_server_stop(srv, 0);
    cio_server_free(srv);
    cio_loop_signal_stop(loop, SIGINT);
    cio_loop_signal_stop(loop, SIGTERM);
    cio_event_free(stop);
    return rc;
}

static void *main_task(void *arg)
{
    (void)arg;
    int fd = cio_tcp_listen("127.0.0.1", (uint16_t)opts.port, 0, -1);
    if (fd < 0) {
        fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%d: %s\n",
                opts.port, cio_strerror(fd));
        return (void *)1;
    }
    int rc = serve(fd);
    if (rc < 0) {
        fprintf(stderr, "echo_server: %s\n", strerror(-rc));
        return (void *)1;
    }
    return NULL;
}

/* -w N: each worker serves its own listening socket until the group stops
 * (SIGINT or SIGTERM, caught once for all of them). */
static void *worker_task(void *arg)
{
    (void)arg;
    cio_hub_set_copied_stacks(opts.copied);
    int rc = cio_workers_serve(handle_conn, NULL, 0);
    if (rc < 0)
        fprintf(stderr, "echo_server: worker %d: %s\n", cio_workers_index(),
                strerror(-rc));
    return NULL;
}

static int run_workers(void)
{
    cio_hub_opts_t ro = {.backend = opts.backend};
    cio_workers_opts_t wo = {.threads = (unsigned)opts.workers,
                             .catch_signals = true,
                             .stop_grace_ms = 1000,
                             .run = &ro,
                             .pin_cpus = opts.pin};
    cio_workers_t *g;
    int rc = cio_workers_new(&g, &wo);
    if (rc < 0) {
        fprintf(stderr, "echo_server: %s\n", strerror(-rc));
        return 1;
    }
    int port = cio_workers_listen(g, "127.0.0.1", (uint16_t)opts.port, 0);
    if (port < 0) {
        fprintf(stderr, "echo_server: cannot listen on 127.0.0.1:%d: %s\n",
                opts.port, strerror(-port));
        cio_workers_free(g);
        return 1;
    }
    rc = cio_workers_start(g, worker_task, NULL);
    if (rc == 0) {
        printf("listening on 127.0.0.1:%d (%d workers, %s)\n", port,
               opts.workers,
               cio_workers_reuseport(g) ? "SO_REUSEPORT" : "one socket");
        rc = cio_workers_wait(g);
    }
    cio_workers_free(g);
    if (rc < 0) {
        fprintf(stderr, "echo_server: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}

static const char USAGE[] =
    "[-p PORT] [-b select|poll|epoll|uring] [-s copied|own] [-w N [-a]] [-v]\n"
    "       [--tls CERT KEY]";
static const char HELP[] =
    "An echo server, a task per connection, on 127.0.0.1 only.\n  -p PORT   "
    "port on 127.0.0.1 (default 9999; 0 picks a free one)\n  -b NAME   loop "
    "backend (default: CIO_BACKEND, else epoll)\n  -s copied  connection tasks "
    "share stacks and keep only their live frames while they wait\n"
    "            (default without --tls: under 1 KiB a connection on\n"
    "            epoll, 1.8 KiB on uring);\n"
    "            own: a stack each (a 4 KiB page; default with --tls)\n  -w N  "
    "    N worker threads, "
    "each with its own hub and socket\n  -a        with -w: pin each worker to "
    "its own CPU\n  -v        print each connection\n  --tls CERT KEY  serve "
    "TLS with "
    "this PEM chain and key\n  -h, --help, --version\n";

static void usage(const char *prog, int status)
{
    (void)prog;
    (void)status;
    cli_fail("echo_server", USAGE);
}

/* Takes "--tls CERT KEY" out of argv before cli_begin and getopt run. */
static int long_options(int argc, char **argv)
{
    int out = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--tls") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 2 >= argc)
            usage(argv[0], 2);
        opts.tls_cert = argv[++i];
        opts.tls_key = argv[++i];
    }
    argv[out] = NULL;
    return out;
}

/* Makes the TLS context for --tls; 0 or 1 (an error was printed). */
static int tls_setup(void)
{
    if (opts.tls_cert == NULL)
        return 0;
#ifdef CIO_HAVE_TLS
    cio_tls_ctx_opts_t o = {
        .server = true, .cert_file = opts.tls_cert, .key_file = opts.tls_key};
    char err[256];
    if (cio_tls_ctx_new(&opts.tls, &o, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "echo_server: --tls: %s\n", err);
#else
    fprintf(stderr, "echo_server: built without OpenSSL: no --tls\n");
#endif
    return 1;
}

int main(int argc, char **argv)
{
    argc = long_options(argc, argv);
    cli_begin(argc, argv, "echo_server", USAGE, HELP);
    int opt;
    while ((opt = getopt(argc, argv, "p:b:s:w:avh")) != -1) {
        switch (opt) {
        case 'p': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || !*optarg || p < 0 || p > 65535)
                usage(argv[0], 2);
            opts.port = (int)p;
            break;
        }
        case 'b':
            opts.backend = optarg;
            break;
        case 's':
            if (strcmp(optarg, "copied") && strcmp(optarg, "own"))
                usage(argv[0], 2);
            opts.copied = strcmp(optarg, "copied") == 0 ? 1 : 0;
            break;
        case 'v':
            opts.verbose = 1;
            break;
        case 'a':
            opts.pin = 1;
            break;
        case 'w': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || !*optarg || n < 1 || n > 1024)
                usage(argv[0], 2);
            opts.workers = (int)n;
            break;
        }
        case 'h':
            cli_help("echo_server", USAGE, HELP);
        default:
            usage(argv[0], 2);
        }
    }
    if (optind != argc)
        usage(argv[0], 2);
    /* Copied stacks by default: a plain connection then costs under 1 KiB
     * instead of a 4 KiB page, for no more CPU per round trip
     * (docs/BENCHMARKS.md). Not with TLS, whose deep frames (OpenSSL's)
     * would be copied at every switch. */
    if (opts.copied < 0)
        opts.copied = opts.tls_cert == NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (tls_setup() != 0)
        return 1;
    int status;
    if (opts.workers > 0) {
        status = run_workers();
    } else {
        cio_hub_opts_t ro = {.backend = opts.backend, .dump_on_sigquit = true};
        cio_hub_set_copied_stacks(opts.copied);
        void *result = NULL;
        int rc = cio_hub_run_ex(&ro, &result, main_task, NULL);
        if (rc < 0)
            fprintf(stderr, "echo_server: %s\n", strerror(-rc));
        status = rc < 0 || result ? 1 : 0;
    }
#ifdef CIO_HAVE_TLS
    cio_tls_ctx_free(opts.tls);
#endif
    return status;
}
