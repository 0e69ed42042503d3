/* The seed's select() server on corio's raw readiness API: every socket
 * goes to one dispatch function, like the body of the seed's select()
 * loop. Each connection has an outgoing queue; readable -> receive and
 * queue; writable -> send the queued data upper-cased. Write interest is
 * asked only while a queue is non-empty, and reading stops while a queue
 * is over QUEUE_LIMIT. A peer that closes or fails is removed from
 * everything and its queue freed.
 *
 * Fixed from the seed: recv() returning 0 closes the connection (the seed
 * spun at 100% CPU), write interest is a bit, not a list that collects
 * duplicates, and replies go out with TCP_NODELAY in whole chunks.
 *
 *   select_echo [-p PORT] [-b select|poll|epoll|uring] [-v]
 */
#include <arpa/inet.h>
#include <corio/loop.h>
#include <ctype.h>
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
    READ_SIZE = 64 * 1024,    /* bytes received per readable event */
    QUEUE_LIMIT = 256 * 1024, /* stop reading above this many queued */
};

/* The outgoing message queue of one connection. */
typedef struct queue {
    char *data;  /* upper-cased bytes waiting to be sent */
    size_t head; /* first unsent byte */
    size_t len;  /* unsent bytes after head */
    size_t cap;  /* bytes allocated */
} queue_t;

/* The server: the seed's inputs, outputs and message_queues, by fd. */
typedef struct server {
    cio_loop_t *loop;          /* the readiness source */
    int listen_fd;             /* the listening socket */
    queue_t **queues;          /* fd -> queue, NULL when fd is not a client */
    int queues_cap;            /* entries in queues */
    int verbose;               /* -v: the seed's prints */
    int accept_paused;         /* out of fds: the listener is idle */
    cio_timer_t *accept_retry; /* resumes accepting if no client leaves */
    char buf[READ_SIZE];       /* scratch for recv */
} server_t;

static server_t srv;

static void accept_resume(void)
{
    if (!srv.accept_paused)
        return;
    srv.accept_paused = 0;
    cio_timer_stop(srv.accept_retry);
    cio_loop_modify(srv.loop, srv.listen_fd, CIO_READABLE);
}

static void accept_retry_fired(cio_timer_t *timer)
{
    (void)timer;
    accept_resume();
}

static void drop(int fd)
{
    if (srv.verbose)
        printf("closing fd %d\n", fd);
    cio_loop_unregister(srv.loop, fd);
    close(fd);
    free(srv.queues[fd]->data);
    free(srv.queues[fd]);
    srv.queues[fd] = NULL;
    accept_resume();
}

static int queue_put(queue_t *q, const char *data, size_t n)
{
    if (q->head > 0) {
        memmove(q->data, q->data + q->head, q->len);
        q->head = 0;
    }
    if (q->len + n > q->cap) {
        size_t cap = q->cap ? q->cap : 4096;
        while (cap < q->len + n)
            cap *= 2;
        char *d = realloc(q->data, cap);
        if (d == NULL)
            return -ENOMEM;
        q->data = d;
        q->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        q->data[q->len + i] = (char)toupper((unsigned char)data[i]);
    q->len += n;
    return 0;
}

static void on_ready(cio_loop_t *loop, int fd, int events, void *data);

/* Gives a new client a queue and the same dispatch function. */
static void add_client(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv.queues[fd] = calloc(1, sizeof(queue_t));
    int rc = srv.queues[fd]
                 ? cio_loop_register(srv.loop, fd, CIO_READABLE, on_ready, NULL)
                 : -ENOMEM;
    if (rc < 0) { /* e.g. select and fd >= FD_SETSIZE */
        fprintf(stderr, "refusing fd %d: %s\n", fd, strerror(-rc));
        free(srv.queues[fd]);
        srv.queues[fd] = NULL;
        close(fd);
    } else if (srv.verbose) {
        printf("new connection on fd %d\n", fd);
    }
}

static void accept_clients(void)
{
    for (int i = 0; i < 64; i++) {
        int fd =
            accept4(srv.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* Out of fds: stop accepting until a client leaves (or,
                 * when the limit is system-wide, a little while), rather
                 * than spin on a listener that stays readable. */
                perror("accept");
                cio_loop_modify(srv.loop, srv.listen_fd, 0);
                srv.accept_paused = 1;
                cio_timer_start(srv.accept_retry, 100, 0);
            }
            return;
        }
        if (fd >= srv.queues_cap) {
            int cap = srv.queues_cap ? srv.queues_cap : 256;
            while (cap <= fd)
                cap *= 2;
            queue_t **qs = realloc(srv.queues, (size_t)cap * sizeof(*qs));
            if (qs == NULL) {
                close(fd);
                continue;
            }
            memset(qs + srv.queues_cap, 0,
                   (size_t)(cap - srv.queues_cap) * sizeof(*qs));
            srv.queues = qs;
            srv.queues_cap = cap;
        }
        add_client(fd);
    }
}

static void on_ready(cio_loop_t *loop, int fd, int events, void *data)
{
    if (fd == srv.listen_fd) {
        accept_clients();
        return;
    }
    queue_t *q = srv.queues[fd];
    if (events & CIO_READABLE) {
        ssize_t n = recv(fd, srv.buf, sizeof(srv.buf), 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            drop(fd);
            return;
        }
        if (n > 0) {
            if (srv.verbose)
                printf("received %zd bytes from fd %d\n", n, fd);
            if (queue_put(q, srv.buf, (size_t)n) < 0) {
                drop(fd);
                return;
            }
        }
    }
    if ((events & CIO_WRITABLE) && q->len > 0) {
        ssize_t n = send(fd, q->data + q->head, q->len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            drop(fd);
            return;
        }
        if (n > 0) {
            if (srv.verbose)
                printf("sent %zd bytes to fd %d\n", n, fd);
            q->head += (size_t)n;
            q->len -= (size_t)n;
        }
    }
    cio_loop_modify(loop, fd,
                    (q->len > 0 ? CIO_WRITABLE : 0) |
                        (q->len < QUEUE_LIMIT ? CIO_READABLE : 0));
}

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    for (int fd = 0; fd < srv.queues_cap; fd++)
        if (srv.queues[fd])
            drop(fd);
    cio_loop_unregister(loop, srv.listen_fd);
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
    "The seed's select() echo server on the raw loop, on 127.0.0.1 "
    "only;\nreplies are upper-cased.\n  -p PORT   port on 127.0.0.1 (default "
    "9999; 0 picks a free one)\n  -b NAME   loop backend (default: "
    "CIO_BACKEND, else epoll)\n  -v        print each connection\n  -h, "
    "--help, --version\n";

static void usage(const char *prog)
{
    (void)prog;
    cli_fail("select_echo", USAGE);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "select_echo", USAGE, HELP);
    int port = 9999, opt;
    const char *backend = NULL;
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
            cli_help("select_echo", USAGE, HELP);
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc)
        usage(argv[0]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = cio_loop_new(&srv.loop, backend);
    if (rc < 0) {
        fprintf(stderr, "loop: %s\n", strerror(-rc));
        return 1;
    }
    rc = cio_timer_new(&srv.accept_retry, srv.loop, accept_retry_fired, NULL);
    if (rc < 0) {
        fprintf(stderr, "timer: %s\n", strerror(-rc));
        return 1;
    }
    srv.listen_fd = listen_on(port);
    if (srv.listen_fd < 0) {
        fprintf(stderr, "select_echo: cannot listen on 127.0.0.1:%d: %s\n",
                port, strerror(errno));
        return 1;
    }
    if ((rc = cio_loop_register(srv.loop, srv.listen_fd, CIO_READABLE, on_ready,
                                NULL)) < 0 ||
        (rc = cio_loop_signal(srv.loop, SIGINT, on_signal, NULL)) < 0 ||
        (rc = cio_loop_signal(srv.loop, SIGTERM, on_signal, NULL)) < 0) {
        fprintf(stderr, "setup: %s\n", strerror(-rc));
        return 1;
    }
    struct sockaddr_in addr;
    socklen_t alen = sizeof(addr);
    getsockname(srv.listen_fd, (struct sockaddr *)&addr, &alen);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    rc = cio_loop_run(srv.loop, CIO_RUN_DEFAULT);
    cio_timer_free(srv.accept_retry);
    close(srv.listen_fd);
    cio_loop_free(srv.loop);
    free(srv.queues);
    if (rc < 0) {
        fprintf(stderr, "loop: %s\n", strerror(-rc));
        return 1;
    }
    return 0;
}
