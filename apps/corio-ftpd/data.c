/* Data connections: passive listeners from the configured port range that
 * accept only the control connection's host, and active connects that go
 * only back to that host on an unprivileged port (RFC 2577: no bounces). */
#include "ftpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* The address as an IPv6 (IPv4 mapped) for comparisons. */
static struct in6_addr as_v6(const ftpd_addr *a)
{
    struct in6_addr v6 = IN6ADDR_ANY_INIT;
    if (a->sa.sa_family == AF_INET6)
        return a->in6.sin6_addr;
    v6.s6_addr[10] = v6.s6_addr[11] = 0xff;
    memcpy(&v6.s6_addr[12], &a->in.sin_addr, 4);
    return v6;
}

bool addr_same_host(const ftpd_addr *a, const ftpd_addr *b)
{
    struct in6_addr x = as_v6(a), y = as_v6(b);
    return memcmp(&x, &y, sizeof(x)) == 0;
}

void addr_to_str(const ftpd_addr *a, char *out, size_t len)
{
    struct in6_addr v6 = as_v6(a);
    if (IN6_IS_ADDR_V4MAPPED(&v6))
        inet_ntop(AF_INET, &v6.s6_addr[12], out, (socklen_t)len);
    else
        inet_ntop(AF_INET6, &v6, out, (socklen_t)len);
}

static void set_port(ftpd_addr *a, int port)
{
    if (a->sa.sa_family == AF_INET)
        a->in.sin_port = htons((uint16_t)port);
    else
        a->in6.sin6_port = htons((uint16_t)port);
}

static socklen_t addr_len(const ftpd_addr *a)
{
    return a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
}

void data_reset(struct ftp_session *s)
{
    if (s->pasv_fd >= 0)
        cio_fd_close(s->pasv_fd);
    s->pasv_fd = -1;
    s->port_set = false;
}

/* 32 random bits from the kernel (a clock-mixed value where getrandom is
 * missing: the choice must still move around). */
static uint32_t random_u32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)ts.tv_sec;
}

static unsigned gcd(unsigned a, unsigned b)
{
    while (b) {
        unsigned t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Binds fd to a free port of the range, chosen at random (RFC 2577,
 * section 7: a predictable port invites its theft). The walk starts at a
 * random port and steps by a random stride prime to the range's size, so
 * it still tries every port once before giving up. */
static int bind_in_range(struct ftp_session *s, int fd, ftpd_addr *a)
{
    const struct ftpd_config *cfg = s->srv->cfg;
    if (cfg->pasv_min <= 0) {
        set_port(a, 0); /* the kernel picks one (at random on Linux) */
        return bind(fd, &a->sa, addr_len(a)) < 0 ? -errno : 0;
    }
    unsigned span = (unsigned)(cfg->pasv_max - cfg->pasv_min + 1);
    unsigned k = random_u32() % span, stride = 1;
    while (span > 2 && gcd(stride = 1 + random_u32() % (span - 1), span) != 1)
        ;
    for (unsigned i = 0; i < span; i++, k = (k + stride) % span) {
        set_port(a, cfg->pasv_min + (int)k);
        if (bind(fd, &a->sa, addr_len(a)) == 0)
            return 0;
        if (errno != EADDRINUSE && errno != EACCES)
            return -errno;
    }
    return -EADDRINUSE;
}

int data_listen(struct ftp_session *s, int *port)
{
    data_reset(s);
    ftpd_addr a = s->local;
    int fd =
        socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, rc;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if ((rc = bind_in_range(s, fd, &a)) < 0 || listen(fd, 4) < 0) {
        rc = rc < 0 ? rc : -errno;
        close(fd);
        return rc;
    }
    socklen_t len = sizeof(a);
    getsockname(fd, &a.sa, &len);
    *port = ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
    s->pasv_fd = fd;
    return 0;
}

/* Accepts the target only on the client's own host, port >= 1024. */
static int check_target(struct ftp_session *s, const ftpd_addr *a, int port)
{
    if (port < 1024 || !addr_same_host(a, &s->peer))
        return 504;
    s->port_addr = *a;
    set_port(&s->port_addr, port);
    s->port_set = true;
    return 0;
}

static int parse_byte_list(const char *arg, int *v, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        if (*arg < '0' || *arg > '9')
            return -1;
        long x = strtol(arg, &end, 10);
        if (x > 255 || end - arg > 3 || *end != (i == n - 1 ? '\0' : ','))
            return -1;
        v[i] = (int)x;
        arg = end + 1;
    }
    return 0;
}

int data_parse_port(struct ftp_session *s, const char *arg)
{
    int v[6];
    if (parse_byte_list(arg, v, 6) < 0)
        return 501;
    ftpd_addr a;
    memset(&a, 0, sizeof(a));
    a.in.sin_family = AF_INET;
    unsigned char *b = (unsigned char *)&a.in.sin_addr;
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)v[i];
    return check_target(s, &a, v[4] * 256 + v[5]);
}

int data_parse_eprt(struct ftp_session *s, const char *arg)
{
    char d = arg[0], buf[128];
    if (d < 33 || d > 126 || strlen(arg) >= sizeof(buf))
        return 501;
    strcpy(buf, arg + 1);
    char *proto = buf, *host, *port, *end;
    if (!(host = strchr(proto, d)) || !(port = strchr(host + 1, d)) ||
        !(end = strchr(port + 1, d)) || end[1])
        return 501;
    *host++ = *port++ = *end = '\0';
    ftpd_addr a;
    memset(&a, 0, sizeof(a));
    if (!strcmp(proto, "1")) {
        a.in.sin_family = AF_INET;
        if (inet_pton(AF_INET, host, &a.in.sin_addr) != 1)
            return 501;
    } else if (!strcmp(proto, "2")) {
        a.in6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) != 1)
            return 501;
    } else {
        return 522;
    }
    char *pend;
    long p = strtol(port, &pend, 10);
    if (*port < '0' || *port > '9' || *pend || p > 65535)
        return 501;
    /* The unspecified address (lftp's |2|::|PORT| in IPv6 active mode)
     * names the client's own: the control connection's peer. */
    struct in6_addr v6 = as_v6(&a);
    if (IN6_IS_ADDR_UNSPECIFIED(&v6) ||
        (a.sa.sa_family == AF_INET && a.in.sin_addr.s_addr == INADDR_ANY))
        a = s->peer;
    return check_target(s, &a, (int)p);
}

static int accept_from_client(struct ftp_session *s, int64_t deadline_ms)
{
    for (;;) {
        ftpd_addr from;
        socklen_t len = sizeof(from);
        int fd = cio_sock_accept(s->pasv_fd, &from.sa, &len, deadline_ms);
        if (fd < 0)
            return fd;
        if (addr_same_host(&from, &s->peer)) {
            cio_fd_close(s->pasv_fd);
            s->pasv_fd = -1;
            return fd;
        }
        char who[48];
        addr_to_str(&from, who, sizeof(who));
        log_event(s->srv, s, "refused data connection from %s", who);
        cio_fd_close(fd);
    }
}

/* Connects from our control address to the client's PORT/EPRT target. */
static int connect_to_client(struct ftp_session *s, int64_t deadline_ms)
{
    ftpd_addr src = s->local, dst = s->port_addr;
    s->port_set = false;
    if (src.sa.sa_family == AF_INET6 && dst.sa.sa_family == AF_INET) {
        struct in6_addr v6 = as_v6(&dst);
        int port = ntohs(dst.in.sin_port);
        memset(&dst, 0, sizeof(dst));
        dst.in6.sin6_family = AF_INET6;
        dst.in6.sin6_addr = v6;
        dst.in6.sin6_port = htons((uint16_t)port);
    }
    if (src.sa.sa_family != dst.sa.sa_family)
        return -EAFNOSUPPORT;
    int fd =
        socket(src.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    set_port(&src, 0);
    int rc = bind(fd, &src.sa, addr_len(&src)) < 0 ? -errno : 0;
    if (rc == 0)
        rc = cio_sock_connect(fd, &dst.sa, addr_len(&dst), deadline_ms);
    if (rc < 0) {
        cio_fd_close(fd);
        return rc;
    }
    return fd;
}

int data_open(struct ftp_session *s, int64_t deadline_ms)
{
    if (s->pasv_fd >= 0)
        return accept_from_client(s, deadline_ms);
    if (s->port_set)
        return connect_to_client(s, deadline_ms);
    return -ENOTCONN;
}
