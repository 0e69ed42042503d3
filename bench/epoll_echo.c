/* The baseline: a minimal hand-written epoll echo server, level-triggered,
 * with the same flags and ready line as the examples, to measure corio's
 * loop against in the same run. A partial send queues the rest and waits
 * for EPOLLOUT (reading stops meanwhile).
 *
 *   bench_epoll_echo [-p PORT]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"

/* Unsent reply bytes of one connection. */
typedef struct pending {
    char *data;  /* the bytes */
    size_t head; /* first unsent */
    size_t len;  /* unsent after head */
    int open;    /* fd is a live connection */
} pending_t;

static volatile sig_atomic_t stopping;

static void on_signal(int signum)
{
    stopping = 1;
}

static char buf[65536];

/* Echoes what can be read; returns -1 when the connection must close. */
static int echo(int epfd, int fd, pending_t *p, uint32_t events)
{
    if (p->len > 0) { /* EPOLLOUT: flush the rest first */
        ssize_t n = send(fd, p->data + p->head, p->len, MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        p->head += (size_t)n;
        p->len -= (size_t)n;
        if (p->len > 0)
            return 0;
        free(p->data);
        p->data = NULL;
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
        return 0;
    }
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
        return n < 0 && errno == EAGAIN ? 0 : -1;
    ssize_t sent = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN)
        return -1;
    if (sent < 0)
        sent = 0;
    if (sent < n) {
        p->len = (size_t)(n - sent);
        p->head = 0;
        p->data = malloc(p->len);
        if (p->data == NULL)
            return -1;
        memcpy(p->data, buf + sent, p->len);
        struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    return 0;
}

/* Accepts every pending connection, growing the table *pend (of *cap
 * entries, indexed by fd) to hold it; -1 when out of memory. */
static int accept_all(int epfd, int lfd, pending_t **pend, int *cap)
{
    int cfd, one = 1;
    while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        while (cfd >= *cap) {
            pending_t *grown =
                realloc(*pend, (size_t)*cap * 2 * sizeof(**pend));
            if (grown == NULL)
                return -1;
            memset(grown + *cap, 0, (size_t)*cap * sizeof(*grown));
            *pend = grown;
            *cap *= 2;
        }
        (*pend)[cfd].open = 1;
        setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = cfd};
        epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ev);
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_epoll_echo", "[-p PORT]",
              "A hand-written epoll echo server: the baseline of the echo "
              "benchmarks.\n  -p PORT   port on 127.0.0.1 (default 9999; 0 "
              "picks one)\n  --help, --version\n");
    int port = 9999, opt;
    while ((opt = getopt(argc, argv, "p:")) != -1) {
        if (opt != 'p') {
            fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
            return 2;
        }
        port = atoi(optarg);
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("listen");
        return 1;
    }
    int epfd = epoll_create1(0), cap = 1024;
    pending_t *pend = calloc((size_t)cap, sizeof(*pend));
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, events[256];
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    while (!stopping) {
        int n = epoll_wait(epfd, events, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == lfd) {
                if (accept_all(epfd, lfd, &pend, &cap) < 0)
                    return 1;
            } else if (echo(epfd, fd, &pend[fd], events[i].events) < 0) {
                close(fd); /* also leaves the epoll set */
                free(pend[fd].data);
                memset(&pend[fd], 0, sizeof(pend[fd]));
            }
        }
    }
    for (int fd = 0; fd < cap; fd++) /* close every connection */
        if (pend[fd].open) {
            close(fd);
            free(pend[fd].data);
        }
    free(pend);
    close(epfd);
    close(lfd);
    return 0;
}
