/* The FTP control connection of proto.h: commands, replies, login and the
 * simple verbs (data connections are in proto_data.c). */
#include "proto.h"
#include "proto_line.h"

#include <corio.h>
#include <corio/tls.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int expect(ftp_conn *c, int code, int want);

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

int ftp_send_line(ftp_conn *c, const char *fmt, va_list ap)
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
    int rc = ftp_send_line(c, fmt, ap);
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
