/* One task per control connection: read command lines (Telnet bytes
 * stripped, 4 KiB at most), dispatch them through the state machine and
 * send replies. A running transfer has its own task, so ABOR and STAT are
 * read and answered while data moves. */
#include "ftpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

/* Waits for a complete line in s->inbuf. Returns its length (the line
 * starts at inbuf and ends with '\n'), or -errno. The buffer exists only
 * while it holds bytes, so an idle session costs little. */
static ssize_t read_line(struct ftp_session *s)
{
    /* Idle counts from the last whole command, not the last byte: a
     * client trickling a line a byte at a time is idle too. */
    int64_t idle_dl = ctl_deadline(s);
    for (;;) {
        char *nl = s->inlen ? memchr(s->inbuf, '\n', s->inlen) : NULL;
        if (nl && s->discarding) {
            s->discarding = false;
            size_t n = (size_t)(nl - s->inbuf) + 1;
            memmove(s->inbuf, nl + 1, s->inlen - n);
            s->inlen -= n;
            continue;
        }
        if (nl)
            return nl - s->inbuf + 1;
        if (s->inlen == FTPD_LINE_MAX) {
            s->inlen = 0;
            if (!s->discarding) {
                s->discarding = true;
                reply(s, 500, "Command line too long.");
                if (s->quit)
                    return -EPIPE;
            }
        }
        if (s->inlen == 0) {
            free(s->inbuf);
            s->inbuf = NULL;
        }
        /* While a transfer runs, wake each second to notice its end, so
         * that the idle limit counts from there. */
        int64_t dl = s->xfer ? cio_deadline_in(1000) : idle_dl;
        /* TLS may hold decrypted bytes: read (and wait) through it. */
        bool secure = ftps_secure(s);
        int rc = secure ? 0 : cio_fd_wait_readable(s->ctl, dl);
        if (rc < 0)
            return rc;
        if (!s->inbuf && !(s->inbuf = malloc(FTPD_LINE_MAX)))
            return -ENOMEM;
        size_t room = FTPD_LINE_MAX - s->inlen;
        ssize_t n = secure ? ftps_ctl_read(s, s->inbuf + s->inlen, room, dl)
                           : cio_fd_read(s->ctl, s->inbuf + s->inlen, room,
                                         cio_deadline_in(1000));
        if (n == 0)
            return -EPIPE;
        if (secure && n < 0)
            return n;
        if (n < 0 && n != -EAGAIN && n != -ETIMEDOUT)
            return n;
        if (n > 0)
            s->inlen += (size_t)n;
    }
}

/* Commands answered at once while a transfer runs; others wait for it. */
static bool during_transfer(const char *verb)
{
    return !strcmp(verb, "ABOR") || !strcmp(verb, "STAT") ||
           !strcmp(verb, "NOOP");
}

static void dispatch(struct ftp_session *s, char *line, size_t len)
{
    char verb[8];
    size_t v = 0;
    while (v < len && line[v] != ' ') {
        if (v == sizeof(verb) - 1 || !isalpha((unsigned char)line[v])) {
            reply(s, 500, "Unknown command.");
            return;
        }
        verb[v] = (char)toupper((unsigned char)line[v]);
        v++;
    }
    verb[v] = '\0';
    char *arg = v < len ? line + v + 1 : line + len;
    size_t arglen = (size_t)(line + len - arg);
    arg[arglen] = '\0';
    if (v == 0) {
        reply(s, 500, "Empty command.");
        return;
    }
    if (ftps_command(s, verb, arg))
        return;
    const struct ftp_command *cmd = commands_find(verb);
    if (!cmd) {
        reply(s, 500, "Unknown command.");
        return;
    }
    if (memchr(arg, '\0', arglen)) {
        reply(s, 501, "NUL byte in argument.");
        return;
    }
    if (s->xfer && !during_transfer(verb))
        transfer_wait(s);
    if ((cmd->flags & CMD_AUTH) && s->state != FTP_LOGGED_IN) {
        reply(s, 530, "Please login with USER and PASS.");
        return;
    }
    if ((cmd->flags & CMD_ARG) && !*arg) {
        reply(s, 501, "%s needs an argument.", verb);
        return;
    }
    if ((cmd->flags & CMD_NOARG) && *arg) {
        reply(s, 501, "%s takes no argument.", verb);
        return;
    }
    if (s->rename_from && strcmp(verb, "RNTO") != 0) {
        free(s->rename_from);
        s->rename_from = NULL;
    }
    cmd->fn(s, arg);
}

static void session_init(struct ftp_session *s, struct ftpd_server *srv, int fd)
{
    s->srv = srv;
    s->refs = 1;
    s->ctl = fd;
    s->task = cio_task_self();
    s->pasv_fd = -1;
    s->id = atomic_fetch_add(&srv->shared->next_id, 1) + 1;
    socklen_t len = sizeof(s->peer);
    getpeername(fd, &s->peer.sa, &len);
    len = sizeof(s->local);
    getsockname(fd, &s->local.sa, &len);
    addr_to_str(&s->peer, s->peer_str, sizeof(s->peer_str));
    int one = 1;
    /* Urgent bytes (ABOR sent with MSG_OOB) stay in the command stream. */
    setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    srv->n_sessions++;
}

/* The session task's end: the session leaves the server (which may be
 * freed next) and a transfer still running, killed by session_logout,
 * keeps only the memory and the control fd until it has unwound. */
static void session_end(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    session_logout(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->n_sessions--;
    server_release(srv, s);
    s->srv = NULL;
    session_put(s);
}

static void command_loop(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    while (!s->quit) {
        if (s->xfer && cio_task_done(s->xfer_task))
            transfer_reap(s);
        if (srv->stopping && !s->xfer) {
            reply(s, 421, "Server shutting down.");
            return;
        }
        ssize_t n = read_line(s);
        if (n == -EINTR || (n == -ETIMEDOUT && s->xfer))
            continue;
        if (n == -ETIMEDOUT) {
            log_event(srv, s, "idle timeout");
            reply(s, 421, "Timeout: closing control connection.");
            return;
        }
        if (n < 0)
            return;
        if (s->xfer && cio_task_done(s->xfer_task))
            transfer_reap(s);
        size_t len = strip_telnet(s->inbuf, (size_t)n);
        s->line_len = (size_t)n;
        dispatch(s, s->inbuf, len);
        /* dispatch may have freed nothing: the line is still at inbuf. */
        memmove(s->inbuf, s->inbuf + n, s->inlen - (size_t)n);
        s->inlen -= (size_t)n;
    }
}

static void session_start(struct ftpd_server *srv, int fd, bool implicit)
{
    struct ftp_session *s = calloc(1, sizeof(*s));
    if (!s) {
        cio_fd_close(fd);
        return;
    }
    session_init(s, srv, fd);
    const char *why = NULL;
    if (!server_admit(srv, s, &why)) {
        log_event(srv, s, "refused: %s", why);
        reply(s, 421, "%s", why);
    } else {
        log_event(srv, s, "connect");
        const char *banner = srv->cfg->banner;
        if ((!implicit || ftps_implicit_accept(s) == 0) &&
            reply(s, 220, "%s", banner ? banner : "corio-ftpd ready.") == 0)
            command_loop(s);
        log_event(srv, s, "disconnect (in %llu, out %llu bytes)",
                  (unsigned long long)s->bytes_in,
                  (unsigned long long)s->bytes_out);
    }
    session_end(s);
}

void session_run(struct ftpd_server *srv, int fd)
{
    session_start(srv, fd, false);
}

void session_run_implicit(struct ftpd_server *srv, int fd)
{
    session_start(srv, fd, true);
}
