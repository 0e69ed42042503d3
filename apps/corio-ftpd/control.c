/* The control connection as a transfer or a HASH sees it while the session
 * task reads commands: watching it for ABOR and QUIT, and the references
 * that keep it (and the session) alive until the last holder lets go. */
#include "ftpd.h"
#include "ftps.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

enum { TELNET_IAC = 255, TELNET_WILL = 251, TELNET_DONT = 254 };

size_t strip_telnet(char *line, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == TELNET_IAC && i + 1 < len) {
            unsigned char c2 = (unsigned char)line[++i];
            if (c2 == TELNET_IAC)
                line[o++] = (char)c2;
            else if (c2 >= TELNET_WILL && c2 <= TELNET_DONT)
                i++; /* skip the option byte */
            continue;
        }
        if (c == TELNET_IAC)
            continue;
        line[o++] = (char)c;
    }
    while (o && (line[o - 1] == '\n' || line[o - 1] == '\r'))
        o--;
    return o;
}

/* True if line (one whole command line) is ABOR or QUIT. */
static bool is_stop_line(const char *line, size_t len)
{
    char buf[16];
    if (len >= sizeof(buf))
        return false;
    memcpy(buf, line, len);
    len = strip_telnet(buf, len);
    buf[len] = '\0';
    return !strcasecmp(buf, "ABOR") || !strcasecmp(buf, "QUIT");
}

int session_wait_fd(struct ftp_session *s, int fd, int64_t deadline_ms)
{
    size_t scanned = s->line_len; /* the running command's own line */
    bool secure = ftps_secure(s);
    for (;;) {
        char *nl;
        while (s->inlen > scanned &&
               (nl = memchr(s->inbuf + scanned, '\n', s->inlen - scanned))) {
            size_t end = (size_t)(nl - s->inbuf) + 1;
            if (is_stop_line(s->inbuf + scanned, end - scanned))
                return -ECANCELED;
            scanned = end;
        }
        bool room = s->inbuf && s->inlen < FTPD_LINE_MAX;
        if (secure && room) {
            /* The fd carries records, not lines: read through TLS, which
             * may also hold decrypted bytes the fd's readiness misses. */
            ssize_t got = ftps_ctl_read(s, s->inbuf + s->inlen,
                                        FTPD_LINE_MAX - s->inlen, 0);
            if (got > 0) {
                s->inlen += (size_t)got;
                continue;
            }
            if (got == 0)
                return -EPIPE;
            if (got != -ETIMEDOUT && got != -EAGAIN)
                return (int)got;
        }
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN},
                              {.fd = s->ctl, .events = POLLIN}};
        int n = cio_fd_poll(p, room ? 2 : 1, deadline_ms);
        if (n < 0)
            return n;
        if (n == 0)
            return -ETIMEDOUT;
        if (p[0].revents)
            return 0;
        if (secure)
            continue;
        ssize_t got =
            read(s->ctl, s->inbuf + s->inlen, FTPD_LINE_MAX - s->inlen);
        if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR))
            return got == 0 ? -EPIPE : -errno;
        if (got > 0)
            s->inlen += (size_t)got;
    }
}

struct ftp_session *session_hold(struct ftp_session *s)
{
    s->refs++;
    return s;
}

void session_put(struct ftp_session *s)
{
    if (--s->refs > 0)
        return;
    ftps_session_end(s);
    if (s->wlock)
        cio_lock_free(s->wlock);
    free(s->inbuf);
    cio_fd_close(s->ctl);
    free(s);
}

bool control_gone(struct ftp_session *s)
{
    struct pollfd p = {.fd = s->ctl, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}
