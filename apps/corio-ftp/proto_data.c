/* The data connections of proto.h: PASV/EPSV or PORT/EPRT (only back to
 * the server's own address), the command that opens one, IO through TLS
 * under PROT P, the final reply, and whole listings. */
#include "proto.h"
#include "proto_line.h"

#include <corio.h>
#include <corio/tls.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set_port(struct sockaddr_storage *sa, uint16_t port)
{
    if (sa->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)sa)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)sa)->sin_port = htons(port);
}

/* The port of a 229 reply: "... (|||port|)", any delimiter. */
static int parse_epsv(const char *line)
{
    const char *p = strchr(line, '(');
    if (!p || !p[1])
        return -1;
    char d = p[1];
    if (p[2] != d || p[3] != d)
        return -1;
    char *end;
    long port = strtol(p + 4, &end, 10);
    if (*end != d || port <= 0 || port > 65535)
        return -1;
    return (int)port;
}

/* The port of a 227 reply: six numbers h1,h2,h3,h4,p1,p2 somewhere. */
static int parse_pasv(const char *line)
{
    const char *p = line + 3;
    while (*p && !isdigit((unsigned char)*p))
        p++;
    unsigned v[6];
    if (sscanf(p, "%u,%u,%u,%u,%u,%u", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5]) != 6 ||
        v[4] > 255 || v[5] > 255)
        return -1;
    int port = (int)(v[4] * 256 + v[5]);
    return port > 0 ? port : -1;
}

/* Asks for a passive port and connects to it at the control connection's
 * peer address (the address a 227 names is ignored, as curl does by
 * default: it is often wrong behind NAT and must not point elsewhere). */
static int passive_open(ftp_conn *c)
{
    int port = -1;
    if (!c->no_epsv) {
        int code = ftp_cmd(c, "EPSV");
        if (code < 0)
            return code;
        if (code == 229)
            port = parse_epsv(ftp_last_line(c));
        else if (code >= 500)
            c->no_epsv = true;
        else
            return -EPROTO;
        if (code == 229 && port < 0)
            return -EBADMSG;
    }
    if (port < 0) {
        if (c->peer.ss_family == AF_INET6)
            return -EPROTO; /* PASV cannot name an IPv6 port */
        int code = ftp_cmd(c, "PASV");
        if (code < 0)
            return code;
        if (code != 227)
            return -EPROTO;
        port = parse_pasv(ftp_last_line(c));
        if (port < 0)
            return -EBADMSG;
    }
    struct sockaddr_storage addr = c->peer;
    set_port(&addr, (uint16_t)port);
    int fd =
        socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = cio_sock_connect(fd, (struct sockaddr *)&addr, c->peer_len,
                              deadline(c));
    if (rc < 0) {
        cio_fd_close(fd);
        return rc;
    }
    return fd;
}

/* Listens next to our end of the control connection and tells the server
 * where with PORT (IPv4) or EPRT (IPv6, or when PORT is refused). */
static int active_listen(ftp_conn *c)
{
    struct sockaddr_storage addr = c->local;
    set_port(&addr, 0);
    int fd =
        socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    socklen_t len = c->local_len;
    if (bind(fd, (struct sockaddr *)&addr, len) < 0 || listen(fd, 1) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    c->listen_fd = fd;
    char host[INET6_ADDRSTRLEN];
    int code;
    if (addr.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr;
        unsigned char *a = (unsigned char *)&sin->sin_addr;
        unsigned port = ntohs(sin->sin_port);
        code = ftp_cmd(c, "PORT %u,%u,%u,%u,%u,%u", a[0], a[1], a[2], a[3],
                       port >> 8, port & 255);
    } else {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
        code = ftp_cmd(c, "EPRT |2|%s|%u|", host, ntohs(sin6->sin6_port));
    }
    if (code < 0)
        return code;
    return code == 200 ? 0 : -EPROTO;
}

static bool same_host(const struct sockaddr_storage *a,
                      const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)b)->sin6_addr,
                  sizeof(struct in6_addr)) == 0;
}

/* Takes the server's connection on the active listener; only from the
 * server's own address, so nobody else can slip data in. */
static int active_accept(ftp_conn *c)
{
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    int fd = cio_sock_accept(c->listen_fd, (struct sockaddr *)&from, &len,
                             deadline(c));
    cio_fd_close(c->listen_fd);
    c->listen_fd = -1;
    if (fd < 0)
        return fd;
    if (!same_host(&from, &c->peer)) {
        cio_fd_close(fd);
        return -EACCES;
    }
    return fd;
}

int ftp_data_begin(ftp_conn *c, int64_t rest, const char *fmt, ...)
{
    int dfd = -1, rc;
    if (c->active)
        rc = active_listen(c);
    else
        rc = dfd = passive_open(c);
    if (rc < 0)
        goto fail;
    if (rest > 0) {
        int code = ftp_cmd(c, "REST %lld", (long long)rest);
        if (code < 0 || code != 350) {
            rc = code < 0 ? code : -ENOTSUP;
            goto fail;
        }
    }
    va_list ap;
    va_start(ap, fmt);
    rc = ftp_send_line(c, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = ftp_read_reply(c);
    if (rc < 0)
        goto fail;
    if (rc / 100 == 2) {
        rc = -ENODATA; /* finished at once: nothing to transfer */
        goto fail;
    }
    if (rc / 100 != 1) {
        rc = -EPROTO;
        goto fail;
    }
    if (c->active) {
        rc = dfd = active_accept(c);
        if (rc < 0)
            goto fail;
    }
    /* PROT P: TLS on the data connection, resuming the control's session
     * (servers refuse a data connection that does not). */
    if (c->tls &&
        (rc = ftps_connect(c->tls_ctx, dfd, c->tls_host, c->tls, &c->data_tls,
                           deadline(c), c->tls_err, sizeof c->tls_err)) < 0)
        goto fail;
    return dfd;
fail:
    if (dfd >= 0)
        cio_fd_close(dfd);
    if (c->listen_fd >= 0) {
        cio_fd_close(c->listen_fd);
        c->listen_fd = -1;
    }
    return rc;
}

ssize_t ftp_data_read(ftp_conn *c, int dfd, void *buf, size_t n,
                      int64_t deadline_ms)
{
    return c->data_tls ? ftps_read(c->data_tls, buf, n, deadline_ms)
                       : cio_fd_read(dfd, buf, n, deadline_ms);
}

ssize_t ftp_data_write(ftp_conn *c, int dfd, const void *buf, size_t n,
                       int64_t deadline_ms)
{
    return c->data_tls ? ftps_write(c->data_tls, buf, n, deadline_ms)
                       : cio_fd_write_all(dfd, buf, n, deadline_ms);
}

void ftp_data_close(ftp_conn *c, int dfd, bool clean)
{
    ftps_close(&c->data_tls, clean, deadline(c));
    cio_fd_close(dfd);
}

int ftp_data_end(ftp_conn *c)
{
    int code = ftp_read_reply(c);
    if (code < 0)
        return code;
    return code / 100 == 2 ? 0 : -EPROTO;
}

static int read_all(ftp_conn *c, int fd, char **out, size_t *outlen,
                    int64_t timeout_ms)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    for (;;) {
        if (cap - len < 4096) {
            char *bigger = cap < (256u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!bigger) {
                free(buf);
                return -ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        int64_t dl = timeout_ms < 0 ? -1 : cio_deadline_in(timeout_ms);
        ssize_t got = ftp_data_read(c, fd, buf + len, cap - len - 1, dl);
        if (got < 0) {
            free(buf);
            return (int)got;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

int ftp_fetch_listing(ftp_conn *c, const char *path, bool use_list, char **out,
                      size_t *outlen, bool *is_mlsd)
{
    bool mlsd = !use_list && !c->no_mlsd;
    const char *verb = mlsd ? "MLSD" : "LIST";
    int dfd = path && path[0] ? ftp_data_begin(c, 0, "%s %s", verb, path)
                              : ftp_data_begin(c, 0, "%s", verb);
    if (mlsd && dfd == -EPROTO && (c->code == 500 || c->code == 502)) {
        c->no_mlsd = true; /* an older server: parse LIST instead */
        return ftp_fetch_listing(c, path, true, out, outlen, is_mlsd);
    }
    *is_mlsd = mlsd;
    if (dfd == -ENODATA) {
        *out = calloc(1, 1);
        *outlen = 0;
        return *out ? 0 : -ENOMEM;
    }
    if (dfd < 0)
        return dfd;
    int rc = read_all(c, dfd, out, outlen, c->timeout_ms);
    ftp_data_close(c, dfd, rc == 0);
    if (rc < 0) {
        ftp_drop(c);
        return rc;
    }
    rc = ftp_data_end(c);
    if (rc < 0) {
        free(*out);
        *out = NULL;
    }
    return rc;
}
