/* The FTP control connection and data connections of proto.h. */
#include "proto.h"

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
#include <strings.h>
#include <unistd.h>

static int expect(ftp_conn *c, int code, int want);

static int64_t deadline(const ftp_conn *c)
{
    return c->timeout_ms < 0 ? -1 : cio_deadline_in(c->timeout_ms);
}

void ftp_init(ftp_conn *c, int64_t timeout_ms, bool active, bool verbose)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->listen_fd = -1;
    c->timeout_ms = timeout_ms;
    c->active = active;
    c->verbose = verbose;
}

void ftp_set_tls(ftp_conn *c, cio_tls_ctx_t *ctx, int mode)
{
    c->tls_ctx = ctx;
    c->tls_mode = ctx ? mode : 0;
}

void ftp_drop(ftp_conn *c)
{
    ftps_close(&c->data_tls, false, 0);
    ftps_close(&c->tls, false, 0);
    if (c->listen_fd >= 0)
        cio_fd_close(c->listen_fd);
    if (c->fd >= 0)
        cio_fd_close(c->fd);
    c->fd = c->listen_fd = -1;
    c->in_len = c->in_pos = 0;
    c->binary = false;
}

/* One line of the control connection, CR LF stripped; a longer line than
 * cap is cut but consumed whole. Returns its length or -errno. */
static int read_line(ftp_conn *c, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        while (c->in_pos < c->in_len) {
            char ch = c->in[c->in_pos++];
            if (ch == '\n') {
                if (n > 0 && line[n - 1] == '\r')
                    n--;
                line[n] = '\0';
                return (int)n;
            }
            if (n + 1 < cap)
                line[n++] = ch;
        }
        ssize_t got =
            c->tls ? ftps_read(c->tls, c->in, sizeof c->in, deadline(c))
                   : cio_fd_read(c->fd, c->in, sizeof c->in, deadline(c));
        if (got == 0)
            return -ENOTCONN; /* the server hung up */
        if (got < 0)
            return (int)got;
        c->in_len = (size_t)got;
        c->in_pos = 0;
    }
}

static void append_reply(ftp_conn *c, const char *line)
{
    size_t used = strlen(c->reply);
    snprintf(c->reply + used, sizeof c->reply - used, "%s%s", used ? "\n" : "",
             line);
    if (c->verbose)
        fprintf(stderr, "<--- %s\n", line);
}

static int reply_code(const char *line)
{
    if (!isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
        !isdigit((unsigned char)line[2]))
        return -1;
    if (line[3] != '\0' && line[3] != ' ' && line[3] != '-')
        return -1;
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

int ftp_read_reply(ftp_conn *c)
{
    char line[1024];
    c->reply[0] = '\0';
    if (c->fd < 0)
        return -ENOTCONN;
    int rc = read_line(c, line, sizeof line);
    if (rc < 0)
        goto broken;
    int code = reply_code(line);
    append_reply(c, line);
    if (code < 0) {
        rc = -EBADMSG;
        goto broken;
    }
    if (line[3] == '-') {
        /* continuation lines end at "<code> " (RFC 959 section 4.2) */
        for (;;) {
            rc = read_line(c, line, sizeof line);
            if (rc < 0)
                goto broken;
            append_reply(c, line);
            if (reply_code(line) == code && line[3] != '-')
                break;
        }
    }
    c->code = code;
    return code;
broken:
    ftp_drop(c); /* its state is unknown now: nothing more can be trusted */
    return rc;
}

static int send_line(ftp_conn *c, const char *fmt, va_list ap)
{
    char line[1200];
    int n = vsnprintf(line, sizeof line - 2, fmt, ap);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        return -ENAMETOOLONG;
    if (strpbrk(line, "\r\n"))
        return -EINVAL; /* would smuggle a second command */
    if (c->fd < 0)
        return -ENOTCONN;
    if (c->verbose)
        fprintf(stderr, "---> %s\n",
                strncmp(line, "PASS ", 5) ? line : "PASS ****");
    memcpy(line + n, "\r\n", 2);
    ssize_t w = c->tls
                    ? ftps_write(c->tls, line, (size_t)n + 2, deadline(c))
                    : cio_fd_write_all(c->fd, line, (size_t)n + 2, deadline(c));
    if (w < 0) {
        ftp_drop(c);
        return (int)w;
    }
    return 0;
}

int ftp_cmd(ftp_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = send_line(c, fmt, ap);
    va_end(ap);
    return rc < 0 ? rc : ftp_read_reply(c);
}

const char *ftp_last_line(const ftp_conn *c)
{
    const char *nl = strrchr(c->reply, '\n');
    return nl ? nl + 1 : c->reply;
}

const char *ftp_strerror(ftp_conn *c, int rc)
{
    if (c->tls_err[0]) { /* a TLS failure says more than its errno */
        snprintf(c->err, sizeof c->err, "%s", c->tls_err);
        c->tls_err[0] = '\0';
    } else if ((rc == -EPROTO || rc == -EACCES || rc == -ENOTSUP) &&
               c->reply[0])
        snprintf(c->err, sizeof c->err, "%.500s", ftp_last_line(c));
    else if (rc == -ENOTCONN)
        snprintf(c->err, sizeof c->err, "the server closed the connection");
    else if (rc == -EBADMSG)
        snprintf(c->err, sizeof c->err, "malformed reply: %.200s",
                 ftp_last_line(c));
    else if (rc == -ETIMEDOUT)
        snprintf(c->err, sizeof c->err, "timed out");
    else
        snprintf(c->err, sizeof c->err, "%s", cio_strerror(rc));
    return c->err;
}

/* Turns the control connection to TLS (implicit, or after AUTH TLS). */
static int control_tls(ftp_conn *c, const char *host)
{
    int rc = ftps_connect(c->tls_ctx, c->fd, host, NULL, &c->tls, deadline(c),
                          c->tls_err, sizeof c->tls_err);
    if (rc < 0)
        ftp_drop(c);
    return rc;
}

/* AUTH TLS after the greeting, then protected data connections. */
static int secure_session(ftp_conn *c, const char *host)
{
    int code, rc;
    if (c->tls_mode == FTP_TLS_EXPLICIT) {
        code = ftp_cmd(c, "AUTH TLS");
        if (code < 0)
            return code;
        if (code != 234) {
            ftp_drop(c);
            return -EPROTO; /* the server's refusal is in c->reply */
        }
        if ((rc = control_tls(c, host)) < 0)
            return rc;
    }
    if ((rc = expect(c, ftp_cmd(c, "PBSZ 0"), 200)) < 0 ||
        (rc = expect(c, ftp_cmd(c, "PROT P"), 200)) < 0)
        ftp_drop(c);
    return rc;
}

int ftp_open(ftp_conn *c, const char *host, uint16_t port)
{
    ftp_drop(c);
    c->reply[0] = '\0';
    int fd = cio_tcp_dial(host, port, deadline(c));
    if (fd < 0)
        return fd;
    c->fd = fd;
    c->peer_len = sizeof c->peer;
    c->local_len = sizeof c->local;
    if (getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len) < 0 ||
        getsockname(fd, (struct sockaddr *)&c->local, &c->local_len) < 0) {
        int err = -errno;
        ftp_drop(c);
        return err;
    }
    int code;
    snprintf(c->tls_host, sizeof c->tls_host, "%s", host);
    if (c->tls_mode == FTP_TLS_IMPLICIT && (code = control_tls(c, host)) < 0)
        return code;
    do /* 120: "ready in a few minutes", then the real greeting */
        code = ftp_read_reply(c);
    while (code == 120);
    if (code < 0)
        return code;
    if (code != 220) {
        ftp_drop(c);
        return -EPROTO;
    }
    return c->tls_mode ? secure_session(c, host) : 0;
}

int ftp_login(ftp_conn *c, const char *user, const char *pass)
{
    int code = ftp_cmd(c, "USER %s", user);
    if (code == 331 || code == 332)
        code = ftp_cmd(c, "PASS %s", pass);
    if (code < 0)
        return code;
    if (code == 230 || code == 202)
        return 0;
    return code == 530 ? -EACCES : -EPROTO;
}

void ftp_quit(ftp_conn *c)
{
    if (c->fd >= 0) {
        int64_t saved = c->timeout_ms;
        if (c->timeout_ms < 0 || c->timeout_ms > 2000)
            c->timeout_ms = 2000; /* a polite goodbye, not a wait */
        if (ftp_cmd(c, "QUIT") >= 0)
            ftps_close(&c->tls, true, deadline(c));
        c->timeout_ms = saved;
    }
    ftp_drop(c);
}

bool ftp_alive(ftp_conn *c)
{
    if (c->fd < 0)
        return false;
    if (c->in_pos < c->in_len)
        return false;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) == 0;
}

static int expect(ftp_conn *c, int code, int want)
{
    if (code < 0)
        return code;
    return code == want ? 0 : -EPROTO;
}

int ftp_binary(ftp_conn *c)
{
    if (c->binary)
        return 0;
    int rc = expect(c, ftp_cmd(c, "TYPE I"), 200);
    c->binary = rc == 0;
    return rc;
}

int ftp_size(ftp_conn *c, const char *path, int64_t *size)
{
    int rc = expect(c, ftp_cmd(c, "SIZE %s", path), 213);
    if (rc < 0)
        return rc;
    char *end;
    long long v = strtoll(ftp_last_line(c) + 4, &end, 10);
    if (end == ftp_last_line(c) + 4 || v < 0)
        return -EBADMSG;
    *size = v;
    return 0;
}

int ftp_cwd(ftp_conn *c, const char *path)
{
    int code = ftp_cmd(c, "CWD %s", path);
    if (code < 0)
        return code;
    return code / 100 == 2 ? 0 : -EPROTO;
}

int ftp_mkd(ftp_conn *c, const char *path)
{
    int code = ftp_cmd(c, "MKD %s", path);
    if (code < 0)
        return code;
    return code / 100 == 2 ? 0 : -EPROTO;
}

/* The type fact of an MLST reply's entry line: 'd', 'f' or '?'. */
static char mlst_type(const ftp_conn *c)
{
    const char *line = strchr(c->reply, '\n'); /* the entry is line two */
    if (!line)
        return '?';
    for (const char *p = line + 1; *p && *p != '\n' && *p != ' '; p++) {
        if (p != line + 1 && p[-1] != ';')
            continue;
        if (!strncasecmp(p, "type=dir;", 9) ||
            !strncasecmp(p, "type=cdir;", 10))
            return 'd';
        if (!strncasecmp(p, "type=file;", 10))
            return 'f';
    }
    return '?';
}

int ftp_dir_exists(ftp_conn *c, const char *path)
{
    if (!path[0])
        return 1; /* the login directory */
    if (!c->no_mlst) {
        int code = ftp_cmd(c, "MLST %s", path);
        if (code < 0)
            return code;
        if (code == 250)
            return mlst_type(c) == 'f' ? -ENOTDIR : 1;
        if (code != 500 && code != 502)
            return 0;
        c->no_mlst = true;
    }
    /* CWD there and back: the only answer every server gives */
    char here[4096];
    int rc = ftp_pwd(c, here, sizeof here);
    if (rc < 0)
        return rc;
    rc = ftp_cwd(c, path);
    if (rc == -EPROTO)
        return 0;
    if (rc < 0)
        return rc;
    rc = ftp_cwd(c, here);
    return rc < 0 ? rc : 1;
}

int ftp_pwd(ftp_conn *c, char *out, size_t outlen)
{
    int rc = expect(c, ftp_cmd(c, "PWD"), 257);
    if (rc < 0)
        return rc;
    /* 257 "dir" comment; a quote inside the name is doubled */
    const char *p = strchr(ftp_last_line(c), '"');
    size_t n = 0;
    if (!p)
        return -EBADMSG;
    for (p++; *p; p++) {
        if (*p == '"') {
            if (p[1] != '"')
                break;
            p++;
        }
        if (n + 1 < outlen)
            out[n++] = *p;
    }
    out[n] = '\0';
    return 0;
}

/* ---- data connections ---- */

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
    rc = send_line(c, fmt, ap);
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
