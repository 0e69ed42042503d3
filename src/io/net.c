/* Listening and dialing over TCP (IPv4 and IPv6) and UNIX stream
 * sockets. Names are resolved on the offload pool when called from a task,
 * directly otherwise. Every socket is non-blocking and close-on-exec. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "corio/io.h"
#include "corio/offload.h"
#include "io/fdwait.h"

static int new_socket(int family, int type)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    cio__fd_fresh(fd);
    return fd;
}

static int resolve(const char *host, uint16_t port, int flags,
                   struct addrinfo **res, int64_t deadline_ms)
{
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = flags | AI_NUMERICSERV};
    if (cio__self())
        return cio_dns_getaddrinfo(host, service, &hints, res, deadline_ms);
    int rc = getaddrinfo(host, service, &hints, res);
    return cio__gai_errno(rc, rc == EAI_SYSTEM ? errno : 0);
}

static int listen_on(const struct sockaddr *sa, socklen_t len, int backlog)
{
    int fd = new_socket(sa->sa_family, SOCK_STREAM);
    if (fd < 0)
        return fd;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (sa->sa_family == AF_INET6 &&
        IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr))
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, sa, len) < 0 || listen(fd, backlog) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int cio_tcp_listen(const char *host, uint16_t port, int backlog,
                   int64_t deadline_ms)
{
    if (backlog <= 0)
        backlog = SOMAXCONN;
    if (!host || !*host) {
        /* Any address: one dual-stack IPv6 socket, or IPv4 without IPv6. */
        struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                                  .sin6_port = htons(port),
                                  .sin6_addr = IN6ADDR_ANY_INIT};
        int fd = listen_on((struct sockaddr *)&a6, sizeof a6, backlog);
        if (fd != -EAFNOSUPPORT && fd != -EADDRNOTAVAIL)
            return fd;
        struct sockaddr_in a4 = {.sin_family = AF_INET,
                                 .sin_port = htons(port),
                                 .sin_addr.s_addr = htonl(INADDR_ANY)};
        return listen_on((struct sockaddr *)&a4, sizeof a4, backlog);
    }
    struct addrinfo *res;
    int rc = resolve(host, port, AI_PASSIVE, &res, deadline_ms);
    if (rc < 0)
        return rc;
    rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        rc = listen_on(ai->ai_addr, ai->ai_addrlen, backlog);
        if (rc >= 0)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int cio_tcp_dial(const char *host, uint16_t port, int64_t deadline_ms)
{
    if (!host || !*host)
        return -EINVAL;
    struct addrinfo *res;
    int rc = resolve(host, port, 0, &res, deadline_ms);
    if (rc < 0)
        return rc;
    rc = -EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = new_socket(ai->ai_family, SOCK_STREAM);
        if (fd < 0) {
            rc = fd;
            continue;
        }
        rc = cio_sock_connect(fd, ai->ai_addr, ai->ai_addrlen, deadline_ms);
        if (rc == 0) {
            rc = fd;
            break;
        }
        cio_fd_close(fd);
        if (rc == -ETIMEDOUT || rc == -ECANCELED || rc == -EINTR ||
            rc == -EPERM)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
    if (!path || !*path)
        return -EINVAL;
    if (strlen(path) >= sizeof sa->sun_path)
        return -ENAMETOOLONG;
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    strcpy(sa->sun_path, path);
    return 0;
}

int cio_unix_listen(const char *path, int backlog)
{
    struct sockaddr_un sa;
    int rc = unix_addr(path, &sa);
    if (rc < 0)
        return rc;
    if (backlog <= 0)
        backlog = SOMAXCONN;
    int fd = new_socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return fd;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fd, backlog) < 0) {
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int cio_unix_dial(const char *path, int64_t deadline_ms)
{
    struct sockaddr_un sa;
    int rc = unix_addr(path, &sa);
    if (rc < 0)
        return rc;
    int fd = new_socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0)
        return fd;
    rc = cio_sock_connect(fd, (struct sockaddr *)&sa, sizeof sa, deadline_ms);
    if (rc < 0) {
        cio_fd_close(fd);
        return rc;
    }
    return fd;
}

int cio_sock_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -EAFNOSUPPORT;
}
