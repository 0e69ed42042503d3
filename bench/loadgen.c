/* A ping-pong load generator for echo servers: C connections over epoll,
 * each sending a message of S bytes, waiting for the whole reply,
 * verifying it byte for byte (optionally upper-cased), and repeating, for
 * a duration or a number of round trips. Prints one line:
 *
 *   RESULT rtt_per_s=N p50_us=N p99_us=N errors=N conns=C size=S rtts=N secs=T
 *
 *   bench_loadgen -p PORT [-h HOST] [-c CONNS] [-s SIZE] [-t SECONDS |
 *                 -n COUNT] [-u] [-T [-V 1.2|1.3]]
 * Exit status 0 when every reply matched and no connection failed. -T
 * speaks TLS (OpenSSL, no certificate check: the peer is ours), each
 * connection handshaking before the clock starts.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#ifdef CIO_HAVE_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#else
typedef struct ssl_st SSL; /* never made without OpenSSL */
#endif

enum {
    HIST_US = 1000000, /* 1 us buckets up to 1 s; one overflow bucket */
    PATTERN = 26,      /* messages are slices of a repeating alphabet */
};

/* One client connection. */
typedef struct conn {
    int fd;           /* the socket, -1 once failed */
    int offset;       /* where this message starts in the pattern */
    size_t sent;      /* bytes of the current message sent */
    size_t received;  /* bytes of the current reply received */
    int64_t start_ns; /* when the current message was first sent */
    int want_out;     /* EPOLLOUT is asked (a send was partial) */
    int busy;         /* a message is in flight (counted in active) */
    SSL *ssl;         /* -T: the TLS session, else NULL */
} conn_t;

/* The run's settings and counters. */
typedef struct run {
    size_t size;      /* message size */
    int upper;        /* -u: replies are upper-cased */
    char *message;    /* pattern of size + PATTERN bytes */
    char *expected;   /* the same, as the reply should be */
    int epfd;         /* epoll instance */
    long long limit;  /* -n: round trips to issue, 0 = by time */
    long long issued; /* messages started */
    long long done;   /* replies completed and verified */
    long long errors; /* mismatches and failed connections */
    int64_t stop_ns;  /* -t: no new message after this */
    int active;       /* connections with a message in flight */
    uint32_t *hist;   /* latency histogram in us */
} run_t;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s -p PORT [-h HOST] [-c CONNS] [-s SIZE] "
            "[-t SECONDS | -n COUNT] [-u]\n"
            "  -h HOST     server address (default 127.0.0.1)\n"
            "  -p PORT     server port\n"
            "  -c CONNS    concurrent connections (default 1)\n"
            "  -s SIZE     message size in bytes (default 64)\n"
            "  -t SECONDS  run time (default 5)\n"
            "  -n COUNT    total round trips instead of a run time\n"
            "  -u          expect upper-cased replies (select_echo)\n"
            "  -T          TLS (no certificate check); -V 1.2 or 1.3 pins it\n",
            prog);
    exit(2);
}

static void conn_fail(run_t *run, conn_t *c, const char *why)
{
    fprintf(stderr, "connection fd %d: %s\n", c->fd, why);
    epoll_ctl(run->epfd, EPOLL_CTL_DEL, c->fd, NULL);
#ifdef CIO_HAVE_TLS
    SSL_free(c->ssl);
    c->ssl = NULL;
    ERR_clear_error();
#endif
    close(c->fd);
    c->fd = -1;
    run->errors++;
    if (c->busy)
        run->active--;
    c->busy = 0;
}

static void set_out(run_t *run, conn_t *c, int want)
{
    if (c->want_out == want)
        return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                             .data.ptr = c};
    epoll_ctl(run->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

/* send/recv through TLS when the conn has a session: -1 with errno EAGAIN
 * when OpenSSL wants to wait (for either direction: level-triggered epoll
 * on EPOLLIN, plus EPOLLOUT while a send is unfinished, covers both). */
static ssize_t conn_io(conn_t *c, void *buf, size_t n, int out)
{
#ifdef CIO_HAVE_TLS
    if (c->ssl != NULL) {
        size_t done = 0;
        int ret = out ? SSL_write_ex(c->ssl, buf, n, &done)
                      : SSL_read_ex(c->ssl, buf, n, &done);
        if (ret == 1)
            return (ssize_t)done;
        switch (SSL_get_error(c->ssl, ret)) {
        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            errno = EAGAIN;
            return -1;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        default:
            errno = EPROTO;
            return -1;
        }
    }
#endif
    return out ? send(c->fd, buf, n, MSG_NOSIGNAL) : recv(c->fd, buf, n, 0);
}

static void conn_send(run_t *run, conn_t *c)
{
    while (c->sent < run->size) {
        ssize_t n = conn_io(c, run->message + c->offset + c->sent,
                            run->size - c->sent, 1);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                break;
            conn_fail(run, c, strerror(errno));
            return;
        }
        c->sent += (size_t)n;
    }
    set_out(run, c, c->sent < run->size);
}

/* Starts the next message, timed from now, if the run goes on; else the
 * conn goes idle. */
static void conn_next(run_t *run, conn_t *c, long long id, int64_t now)
{
    if ((run->limit > 0 && run->issued >= run->limit) ||
        (run->limit == 0 && now >= run->stop_ns)) {
        run->active--;
        c->busy = 0;
        return;
    }
    run->issued++;
    c->offset = (int)((id + run->issued) % PATTERN);
    c->sent = 0;
    c->received = 0;
    c->start_ns = now;
    conn_send(run, c);
}

static void conn_recv(run_t *run, conn_t *c, long long id, char *buf,
                      size_t cap)
{
    ssize_t n = conn_io(c, buf, cap, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_fail(run, c, n == 0 ? "closed by the server" : strerror(errno));
        return;
    }
    if (!c->busy || c->received + (size_t)n > c->sent ||
        memcmp(buf, run->expected + c->offset + c->received, (size_t)n)) {
        conn_fail(run, c, "reply does not match");
        return;
    }
    c->received += (size_t)n;
    if (c->received < run->size)
        return;
    int64_t now = now_ns(); /* one clock read per round trip */
    int64_t us = (now - c->start_ns) / 1000;
    run->hist[us < HIST_US ? us : HIST_US]++;
    run->done++;
    conn_next(run, c, id, now);
}

static double percentile(const run_t *run, double p)
{
    if (run->done == 0)
        return 0;
    long long rank = (long long)(p * (double)(run->done - 1)), seen = 0;
    for (int us = 0; us <= HIST_US; us++) {
        seen += (long long)run->hist[us];
        if (seen > rank)
            return us;
    }
    return HIST_US;
}

/* -T: the client context (NULL without TLS). */
static void *tls_ctx;

/* Runs a blocking TLS handshake on fd; the session or NULL. */
static SSL *tls_handshake(int fd)
{
#ifdef CIO_HAVE_TLS
    SSL *ssl = SSL_new(tls_ctx);
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK); /* blocking for the handshake */
    int ok = ssl != NULL && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1;
    fcntl(fd, F_SETFL, flags);
    if (ok)
        return ssl;
    ERR_print_errors_fp(stderr);
    SSL_free(ssl);
#endif
    return NULL;
}

static int tls_setup(const char *version)
{
#ifdef CIO_HAVE_TLS
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    int v = version == NULL               ? 0
            : strcmp(version, "1.2") == 0 ? TLS1_2_VERSION
            : strcmp(version, "1.3") == 0 ? TLS1_3_VERSION
                                          : -1;
    if (ctx == NULL || v < 0)
        return -1;
    SSL_CTX_set_min_proto_version(ctx, v ? v : TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, v);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_ENABLE_PARTIAL_WRITE);
    tls_ctx = ctx;
    signal(SIGPIPE, SIG_IGN); /* OpenSSL's socket BIO uses write(2) */
    return 0;
#else
    fprintf(stderr, "built without OpenSSL: no -T\n");
    return -1;
#endif
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "%s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) < 0) {
        perror("connect");
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return fd;
}

int main(int argc, char **argv)
{
    cli_begin(
        argc, argv, "bench_loadgen",
        "-p PORT [-h HOST] [-c CONNS] [-s SIZE] [-t SECONDS | -n COUNT] [-u]\n"
        "       [-T [-V 1.2|1.3]]",
        "Echo load generator: CONNS connections send SIZE bytes and wait "
        "for\nthe echo, for SECONDS or COUNT round trips. Ends with one RESULT "
        "line.\n  -T  TLS (-V: the version)\n  --help, --version\n");
    const char *host = "127.0.0.1", *port = NULL, *version = NULL;
    int conns = 1, opt, tls = 0;
    double secs = 5;
    run_t run = {.size = 64};
    while ((opt = getopt(argc, argv, "h:p:c:s:t:n:uTV:")) != -1) {
        switch (opt) {
        case 'h':
            host = optarg;
            break;
        case 'p':
            port = optarg;
            break;
        case 'c':
            conns = atoi(optarg);
            break;
        case 's':
            run.size = (size_t)atol(optarg);
            break;
        case 't':
            secs = atof(optarg);
            break;
        case 'n':
            run.limit = atoll(optarg);
            break;
        case 'u':
            run.upper = 1;
            break;
        case 'T':
            tls = 1;
            break;
        case 'V':
            version = optarg;
            break;
        default:
            usage(argv[0]);
        }
    }
    if (port == NULL || conns <= 0 || run.size == 0 || secs <= 0 ||
        run.limit < 0 || optind != argc)
        usage(argv[0]);
    if (tls && tls_setup(version) < 0)
        usage(argv[0]);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* 1000 connections need the room */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    run.message = malloc(run.size + PATTERN);
    run.expected = malloc(run.size + PATTERN);
    run.hist = calloc(HIST_US + 1, sizeof(*run.hist));
    conn_t *cs = calloc((size_t)conns, sizeof(*cs));
    size_t bufcap = run.size < 65536 ? run.size : 65536;
    char *buf = malloc(bufcap);
    struct epoll_event *events = calloc((size_t)conns, sizeof(*events));
    if (!run.message || !run.expected || !run.hist || !cs || !buf || !events) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < run.size + PATTERN; i++) {
        run.message[i] = (char)('a' + i % PATTERN);
        run.expected[i] =
            run.upper ? (char)toupper(run.message[i]) : run.message[i];
    }
    run.epfd = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < conns; i++) {
        cs[i].fd = connect_to(host, port);
        if (cs[i].fd < 0) {
            fprintf(stderr, "connection %d of %d failed\n", i + 1, conns);
            run.errors++;
            continue;
        }
        if (tls && (cs[i].ssl = tls_handshake(cs[i].fd)) == NULL) {
            conn_fail(&run, &cs[i], "TLS handshake failed");
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        epoll_ctl(run.epfd, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    int64_t start = now_ns();
    run.stop_ns = start + (int64_t)(secs * 1e9);
    for (int i = 0; i < conns; i++)
        if (cs[i].fd >= 0) {
            run.active++;
            cs[i].busy = 1;
            conn_next(&run, &cs[i], i, now_ns());
        }
    while (run.active > 0) {
        int n = epoll_wait(run.epfd, events, conns, 1000);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            return 1;
        }
        if (n == 0 && now_ns() > run.stop_ns + 5 * 1000000000LL) {
            fprintf(stderr, "%d replies never came\n", run.active);
            run.errors += run.active;
            break;
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            long long id = c - cs;
            if (c->fd >= 0 && (events[i].events & EPOLLOUT))
                conn_send(&run, c);
            if (c->fd >= 0 &&
                (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
                conn_recv(&run, c, id, buf, bufcap);
#ifdef CIO_HAVE_TLS
            /* A record decrypted ahead is not seen by epoll. */
            while (c->fd >= 0 && c->ssl && SSL_pending(c->ssl) > 0)
                conn_recv(&run, c, id, buf, bufcap);
#endif
        }
    }
    double elapsed = (double)(now_ns() - start) / 1e9;
    printf("RESULT rtt_per_s=%.0f p50_us=%.0f p99_us=%.0f errors=%lld "
           "conns=%d size=%zu rtts=%lld secs=%.2f\n",
           (double)run.done / elapsed, percentile(&run, 0.50),
           percentile(&run, 0.99), run.errors, conns, run.size, run.done,
           elapsed);
    for (int i = 0; i < conns; i++)
        if (cs[i].fd >= 0) {
#ifdef CIO_HAVE_TLS
            SSL_free(cs[i].ssl);
#endif
            close(cs[i].fd);
        }
#ifdef CIO_HAVE_TLS
    SSL_CTX_free(tls_ctx);
#endif
    close(run.epfd);
    free(run.message);
    free(run.expected);
    free(run.hist);
    free(cs);
    free(buf);
    free(events);
    return run.errors == 0 && run.done > 0 ? 0 : 1;
}
