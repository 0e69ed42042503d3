/* The seed's selectors echo server on corio's callback API: the listening
 * socket is registered with an accept callback, which registers each
 * connection with a read callback that echoes the data unchanged.
 *
 * Unlike the seed, a partial send loses nothing: the rest is queued and
 * sent when the socket is writable, and a connection whose queue is over
 * QUEUE_LIMIT is not read from until it drains (bounded memory per peer).
 *
 *   selectors_echo [-p PORT] [-b select|poll|epoll|uring] [-v]
 */
#include <arpa/inet.h>
#include <corio/loop.h>
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

enum {
    READ_SIZE = 64 * 1024,    /* bytes read per readable event */
    QUEUE_LIMIT = 256 * 1024, /* stop reading above this many queued */
};

/* One client connection. */
typedef struct conn {
    int fd;                   /* the socket */
    char *queue;              /* bytes received but not yet sent back */
    size_t head;              /* first unsent byte in queue */
    size_t len;               /* bytes queued after head */
    size_t cap;               /* bytes allocated for queue */
    struct conn *prev, *next; /* every open connection, for shutdown */
} conn_t;

/* The server's state. */
typedef struct server {
    cio_loop_t *loop;          /* the loop everything runs on */
    int listen_fd;             /* the listening socket */
    conn_t *conns;             /* open connections */
    int verbose;               /* -v: log like the seed */
    cio_timer_t *accept_pause; /* re-enables accept after EMFILE */
    char buf[READ_SIZE];       /* scratch for each read */
} server_t;

static void conn_close(server_t *srv, conn_t *c)
{
    if (srv->verbose)
        printf("closing fd %d\n", c->fd);
    cio_loop_unregister(srv->loop, c->fd);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->queue);
    free(c);
}

/* Appends data to the connection's queue (compacting it first). */
static int queue_append(conn_t *c, const char *data, size_t n)
{
    if (c->head > 0) {
        memmove(c->queue, c->queue + c->head, c->len);
        c->head = 0;
    }
    if (c->len + n > c->cap) {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < c->len + n)
            cap *= 2;
        char *q = realloc(c->queue, cap);
        if (q == NULL)
            return -ENOMEM;
        c->queue = q;
        c->cap = cap;
    }
    memcpy(c->queue + c->len, data, n);
    c->len += n;
    return 0;
}

/* Interest follows the queue: write while non-empty, read while short. */
static void conn_update(server_t *srv, conn_t *c)
{
    int events = (c->len > 0 ? CIO_WRITABLE : 0) |
                 (c->len < QUEUE_LIMIT ? CIO_READABLE : 0);
    cio_loop_modify(srv->loop, c->fd, events);
}

static void on_conn(cio_loop_t *loop, int fd, int events, void *data)
{
    conn_t *c = data;
    server_t *srv = cio_loop_data(loop);
    if (events & CIO_WRITABLE) {
        ssize_t n = send(fd, c->queue + c->head, c->len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            conn_close(srv, c);
            return;
        }
        if (n > 0) {
            c->head += (size_t)n;
            c->len -= (size_t)n;
            if (c->len == 0)
                c->head = 0;
        }
    }
    if ((events & CIO_READABLE) && c->len < QUEUE_LIMIT) {
        ssize_t n = recv(fd, srv->buf, sizeof(srv->buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(srv, c); /* the peer closed, or an error */
            return;
        }
        if (n > 0) {
            if (srv->verbose)
                printf("echoing %zd bytes to fd %d\n", n, fd);
            ssize_t sent = 0;
            if (c->len == 0) { /* the common case: straight back */
                sent = send(fd, srv->buf, (size_t)n, MSG_NOSIGNAL);
                if (sent < 0 && errno != EAGAIN && errno != EINTR) {
                    conn_close(srv, c);
                    return;
                }
                if (sent < 0)
                    sent = 0;
            }
            if (sent < n &&
                queue_append(c, srv->buf + sent, (size_t)(n - sent)) < 0) {
                conn_close(srv, c);
                return;
            }
        }
    }
    conn_update(srv, c);
}

static void accept_resume(cio_timer_t *t)
{
    server_t *srv = cio_timer_data(t);
    cio_loop_modify(srv->loop, srv->listen_fd, CIO_READABLE);
}

static void on_accept(cio_loop_t *loop, int fd, int events, void *data)
{
    server_t *srv = data;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof(peer);
        int cfd = accept4(fd, (struct sockaddr *)&peer, &plen,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
                errno == ENOMEM) {
                /* Out of fds: pause accepting instead of spinning. */
                fprintf(stderr, "accept: %s\n", strerror(errno));
                cio_loop_modify(loop, fd, 0);
                cio_timer_start(srv->accept_pause, 100, 0);
            }
            return;
        }
        int one = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        conn_t *c = calloc(1, sizeof(*c));
        int rc = c ? cio_loop_register(loop, cfd, CIO_READABLE, on_conn, c)
                   : -ENOMEM;
        if (rc < 0) { /* e.g. select and fd >= FD_SETSIZE */
            fprintf(stderr, "refusing fd %d: %s\n", cfd, strerror(-rc));
            free(c);
            close(cfd);
            continue;
        }
        c->fd = cfd;
        c->next = srv->conns;
        if (srv->conns)
            srv->conns->prev = c;
        srv->conns = c;
        if (srv->verbose)
            printf("connection from %s:%d on fd %d\n", inet_ntoa(peer.sin_addr),
                   ntohs(peer.sin_port), cfd);
    }
}

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    server_t *srv = data;
    while (srv->conns)
        conn_close(srv, srv->conns);
    cio_loop_unregister(loop, srv->listen_fd);
    cio_timer_stop(srv->accept_pause);
    cio_loop_stop(loop);
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(fd, SOMAXCONN) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static const char USAGE[] = "[-p PORT] [-b select|poll|epoll|uring] [-v]";
static const char HELP[] =
    "The seed's selectors echo server on loop callbacks, on 127.0.0.1 only.\n  "
    "-p PORT   port on 127.0.0.1 (default 9999; 0 picks a free one)\n  -b NAME "
    "  loop backend (default: CIO_BACKEND, else epoll)\n  -v        print each "
    "connection\n  -h, --help, --version\n";

static void usage(const char *prog)
{
    (void)prog;
    cli_fail("selectors_echo", USAGE);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "selectors_echo", USAGE, HELP);
    int port = 9999, opt;
    const char *backend = NULL;
    static server_t srv;
    while ((opt = getopt(argc, argv, "p:b:vh")) != -1) {
        switch (opt) {
        case 'p': {
            char *end;
            long p = strtol(optarg, &end, 10);
            if (*end || p < 0 || p > 65535)
                usage(argv[0]);
            port = (int)p;
            break;
        }
        case 'b':
            backend = optarg;
            break;
        case 'v':
            srv.verbose = 1;
            break;
        case 'h':
            cli_help("selectors_echo", USAGE, HELP);
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0); /* -v lines appear as they happen */
    int rc = cio_loop_new(&srv.loop, backend);
    if (rc < 0) {
        fprintf(stderr, "loop: %s\n", strerror(-rc));
        return 1;
    }
    cio_loop_set_data(srv.loop, &srv);
    srv.listen_fd = listen_on(port);
    if (srv.listen_fd < 0) {
        fprintf(stderr, "selectors_echo: cannot listen on 127.0.0.1:%d: %s\n",
                port, strerror(errno));
        return 1;
    }
    if ((rc = cio_timer_new(&srv.accept_pause, srv.loop, accept_resume, &srv)) <
            0 ||
        (rc = cio_loop_register(srv.loop, srv.listen_fd, CIO_READABLE,
                                on_accept, &srv)) < 0 ||
        (rc = cio_loop_signal(srv.loop, SIGINT, on_signal, &srv)) < 0 ||
        (rc = cio_loop_signal(srv.loop, SIGTERM, on_signal, &srv)) < 0) {
        fprintf(stderr, "setup: %s\n", strerror(-rc));
        return 1;
    }
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    getsockname(srv.listen_fd, (struct sockaddr *)&addr, &alen);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    rc = cio_loop_run(srv.loop, CIO_RUN_DEFAULT);
    close(srv.listen_fd);
    cio_timer_free(srv.accept_pause);
    cio_loop_free(srv.loop);
    if (rc < 0) {
        fprintf(stderr, "loop: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
