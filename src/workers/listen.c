/* Listening sockets for a group: one per worker, all bound to the same
 * address with SO_REUSEPORT so that the kernel spreads new connections over
 * the workers' own accept queues (no shared queue, no thundering herd); or
 * one socket shared by every worker where the kernel refuses that.
 *
 * SO_REUSEPORT alone would also let a group bind a port that another
 * process's group holds, and share its connections. So the port is first
 * taken by a socket without it, which fails with EADDRINUSE when anybody
 * holds the port, and is kept until the workers' sockets are bound. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/error.h"
#include "corio/workers.h"
#include "workers-int.h"

/* A non-blocking, close-on-exec listening socket bound to addr; with
 * reuseport, SO_REUSEPORT is set first; a backlog < 0 binds only. Returns
 * the fd or -errno. */
static int listen_one(const struct sockaddr *addr, socklen_t len,
                      bool reuseport, int backlog)
{
    int fd =
        socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (addr->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (reuseport &&
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (bind(fd, addr, len) < 0 || (backlog >= 0 && listen(fd, backlog) < 0)) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Binds the first socket on the first address of host that works (for an
 * empty host, IPv6 any, which also takes IPv4, then IPv4 any). */
static int listen_first(const char *host, uint16_t port, int backlog,
                        struct sockaddr_storage *bound, socklen_t *bound_len)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    char service[8];
    snprintf(service, sizeof(service), "%u", (unsigned)port);
    const char *any[] = {"::", "0.0.0.0"};
    int err = -EADDRNOTAVAIL;
    for (int round = 0; round < 2; round++) {
        const char *node = host && *host ? host : any[round];
        struct addrinfo *res;
        int gai = getaddrinfo(node, service, &hints, &res);
        if (gai != 0) {
            err = cio__gai_errno(gai, gai == EAI_SYSTEM ? errno : 0);
            if (host && *host)
                break;
            continue;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
            int fd = listen_one(ai->ai_addr, ai->ai_addrlen, false, backlog);
            if (fd < 0) {
                err = fd;
                continue;
            }
            *bound_len = sizeof(*bound);
            getsockname(fd, (struct sockaddr *)bound, bound_len);
            freeaddrinfo(res);
            return fd;
        }
        freeaddrinfo(res);
        if (host && *host)
            break;
    }
    return err;
}

static int bound_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

int cio_workers_listen(cio_workers_t *g, const char *host, uint16_t port,
                       int backlog)
{
    if (g->state != CIO__G_NEW || g->nlisten)
        return -EBUSY;
    if (backlog <= 0)
        backlog = SOMAXCONN;
    unsigned want = g->shared_listener ? 1 : cio_workers_count(g);
    g->listen_fds = malloc(want * sizeof(int));
    if (!g->listen_fds)
        return -ENOMEM;
    struct sockaddr_storage addr;
    socklen_t len;
    bool reuseport = want > 1;
    /* With reuseport, the port's guard: bound, not listening. */
    int guard = listen_first(host, port, reuseport ? -1 : backlog, &addr, &len);
    if (guard < 0) {
        free(g->listen_fds);
        g->listen_fds = NULL;
        return guard;
    }
    while (reuseport && g->nlisten < want) {
        int fd = listen_one((struct sockaddr *)&addr, len, true, backlog);
        if (fd >= 0) {
            g->listen_fds[g->nlisten++] = fd;
            continue;
        }
        /* Refused (a kernel or policy without it): the guard serves all. */
        while (g->nlisten > 0)
            close(g->listen_fds[--g->nlisten]);
        break;
    }
    if (g->nlisten == 0) {
        if (reuseport && listen(guard, backlog) < 0) {
            int e = errno;
            close(guard);
            free(g->listen_fds);
            g->listen_fds = NULL;
            return -e;
        }
        g->listen_fds[g->nlisten++] = guard;
    } else {
        close(guard);
    }
    g->port = bound_port(&addr);
    return g->port;
}

bool cio_workers_reuseport(const cio_workers_t *g)
{
    return g->nlisten > 1;
}

int cio_workers_listener(void)
{
    cio__worker *w = cio__worker_current();
    if (!w)
        return -EPERM;
    cio_workers_t *g = w->group;
    if (g->nlisten == 0)
        return -ENOENT;
    /* The lock keeps a stop from closing the fd between read and dup. */
    pthread_mutex_lock(&g->mu);
    int fd = g->listen_fds[g->nlisten == 1 ? 0 : w->local];
    int copy = fd < 0 ? -ECANCELED : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy == -1)
        copy = -errno;
    pthread_mutex_unlock(&g->mu);
    return copy;
}

int cio__listeners_steer(cio_workers_t *g, unsigned n)
{
    if (g->nlisten < 2 || n == 0)
        return -EINVAL;
    if (n > g->nlisten)
        n = g->nlisten;
    /* A random listener among the first n; the kernel numbers a group's
     * sockets in the order they were bound, listen_fds' order. */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_RANDOM),
        BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
        BPF_STMT(BPF_RET | BPF_A, 0),
    };
    struct sock_fprog prog = {.len = 3, .filter = code};
    pthread_mutex_lock(&g->mu);
    int fd = g->listen_fds[0];
    int rc = fd < 0 ? -ECANCELED
             : setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
                          sizeof prog) == 0
                 ? 0
                 : -errno;
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void cio__listeners_close(cio_workers_t *g)
{
    for (unsigned i = 0; i < g->nlisten; i++) {
        if (g->listen_fds[i] >= 0)
            close(g->listen_fds[i]);
        g->listen_fds[i] = -1;
    }
}
