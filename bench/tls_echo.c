/* The TLS baseline: a hand-written OpenSSL echo server on level-triggered
 * epoll, the way a C programmer would write one without corio, to measure
 * libcorio_tls against in the same run. Each connection is an SSL object on
 * a non-blocking socket; WANT_READ/WANT_WRITE pick the epoll interest. A
 * reply that does not go out at once is kept and retried on EPOLLOUT.
 *
 *   bench_tls_echo [-p PORT] CERT KEY
 * Prints "listening on 127.0.0.1:PORT"; exits on SIGINT/SIGTERM; exits 77
 * (SKIP) when built without OpenSSL. */
#include <stdio.h>
#include <stdlib.h>

#ifndef CIO_HAVE_TLS
int main(void)
{
    fprintf(stderr, "SKIP: built without OpenSSL\n");
    return 77;
}
#else
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"

/* One connection, indexed by fd. */
typedef struct tconn {
    SSL *ssl;       /* NULL = slot free */
    int handshaken; /* SSL_accept finished */
    char *pending;  /* a reply SSL_write must be retried with */
    size_t len;     /* its length */
    uint32_t want;  /* the epoll interest now set */
} tconn_t;

static volatile sig_atomic_t stopping;
static char buf[16384];

static void on_signal(int signum)
{
    stopping = 1;
}

static void set_want(int epfd, int fd, tconn_t *c, uint32_t want)
{
    if (c->want == want)
        return;
    struct epoll_event ev = {.events = want, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    c->want = want;
}

/* After a failed SSL call: the interest to wait with, or 0 to close. */
static uint32_t want_of(SSL *ssl, int ret)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return EPOLLIN;
    case SSL_ERROR_WANT_WRITE:
        return EPOLLOUT;
    default:
        ERR_clear_error();
        return 0;
    }
}

/* Sends data (or the pending reply); -1 to close. */
static int send_reply(int epfd, int fd, tconn_t *c, const char *data,
                      size_t len)
{
    int ret = SSL_write(c->ssl, data, (int)len);
    if (ret > 0) {
        free(c->pending);
        c->pending = NULL;
        set_want(epfd, fd, c, EPOLLIN);
        return 0;
    }
    uint32_t want = want_of(c->ssl, ret);
    if (want == 0)
        return -1;
    if (c->pending == NULL) {
        if ((c->pending = malloc(len)) == NULL)
            return -1;
        memcpy(c->pending, data, len);
        c->len = len;
    }
    set_want(epfd, fd, c, want);
    return 0;
}

/* Handles an event on a connection; -1 when it must close. */
static int serve(int epfd, int fd, tconn_t *c)
{
    if (!c->handshaken) {
        int ret = SSL_accept(c->ssl);
        if (ret != 1) {
            uint32_t want = want_of(c->ssl, ret);
            if (want == 0)
                return -1;
            set_want(epfd, fd, c, want);
            return 0;
        }
        c->handshaken = 1;
        set_want(epfd, fd, c, EPOLLIN);
    }
    if (c->pending != NULL)
        return send_reply(epfd, fd, c, c->pending, c->len);
    do {
        int n = SSL_read(c->ssl, buf, sizeof buf);
        if (n <= 0) {
            uint32_t want = want_of(c->ssl, n);
            if (want == 0)
                return -1;
            set_want(epfd, fd, c, want);
            return 0;
        }
        if (send_reply(epfd, fd, c, buf, (size_t)n) < 0)
            return -1;
    } while (c->pending == NULL && SSL_pending(c->ssl) > 0);
    return 0;
}

static void drop(int fd, tconn_t *c)
{
    SSL_free(c->ssl);
    free(c->pending);
    memset(c, 0, sizeof *c);
    close(fd);
}

/* Accepts every pending connection into the table *conns of *cap slots. */
static int accept_all(int epfd, int lfd, SSL_CTX *ctx, tconn_t **conns,
                      int *cap)
{
    int cfd, one = 1;
    while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        while (cfd >= *cap) {
            tconn_t *grown = realloc(*conns, (size_t)*cap * 2 * sizeof **conns);
            if (grown == NULL)
                return -1;
            memset(grown + *cap, 0, (size_t)*cap * sizeof *grown);
            *conns = grown;
            *cap *= 2;
        }
        tconn_t *c = &(*conns)[cfd];
        if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, cfd) != 1)
            return -1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->want = EPOLLIN;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
        epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
    }
    return 0;
}

static SSL_CTX *make_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;
}

static int listen_on(int port)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("listen");
        exit(1);
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return lfd;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_tls_echo", "[-p PORT] CERT KEY",
              "A hand-written OpenSSL echo server on epoll: the baseline of "
              "bench/tls.sh.\n  -p PORT   port on 127.0.0.1 (default 9999; 0 "
              "picks one)\n  --help, --version\n");
    int port = 9999, opt;
    while ((opt = getopt(argc, argv, "p:")) != -1) {
        if (opt != 'p')
            break;
        port = atoi(optarg);
    }
    if (optind + 2 != argc) {
        fprintf(stderr, "usage: %s [-p PORT] CERT KEY\n", argv[0]);
        return 2;
    }
    SSL_CTX *ctx = make_ctx(argv[optind], argv[optind + 1]);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(2) */
    int lfd = listen_on(port);
    int epfd = epoll_create1(0), cap = 1024;
    tconn_t *conns = calloc((size_t)cap, sizeof *conns);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, events[256];
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    while (!stopping) {
        int n = epoll_wait(epfd, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                if (accept_all(epfd, lfd, ctx, &conns, &cap) < 0)
                    return 1;
            } else if (conns[fd].ssl && serve(epfd, fd, &conns[fd]) < 0) {
                drop(fd, &conns[fd]);
            }
        }
    }
    for (int fd = 0; fd < cap; fd++)
        if (conns[fd].ssl)
            drop(fd, &conns[fd]);
    free(conns);
    SSL_CTX_free(ctx);
    close(epfd);
    close(lfd);
    return 0;
}
#endif
