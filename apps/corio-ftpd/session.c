/* One task per control connection: read command lines (Telnet bytes
 * stripped, 4 KiB at most), dispatch them through the state machine and
 * send replies. A running transfer has its own task, so ABOR and STAT are
 * read and answered while data moves. */
#include "ftpd.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reply.h"

/* A read that does not wait, for a connection a watch found readable:
 * the bytes read, 0 at its end, or -errno (-EAGAIN: none there). */
static ssize_t read_now(int fd, char *buf, size_t len)
{
    ssize_t n;
    while ((n = recv(fd, buf, len, MSG_DONTWAIT)) < 0 && errno == EINTR)
        ;
    return n < 0 ? -errno : n;
}

/* Waits for a complete line in s->inbuf. Returns its length (the line
 * starts at inbuf and ends with '\n'), or -errno. The buffer exists only
 * while it holds bytes, so an idle session costs little. ready: the control
 * connection is known to be readable, the first read need not wait; if it
 * finds nothing and nothing is buffered, -EAGAIN. */
static ssize_t read_line(struct ftp_session *s, bool ready)
{
    /* Idle counts from the last whole command, not the last byte: a
     * client trickling a line a byte at a time is idle too. */
    int64_t idle_dl = s->idle_since + s->srv->cfg->idle_timeout_ms;
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
        bool now = ready && !secure;
        ready = false;
        int rc = secure || now ? 0 : cio_fd_wait_readable(s->ctl, dl);
        if (rc < 0)
            return rc;
        if (!s->inbuf && !(s->inbuf = malloc(FTPD_LINE_MAX)))
            return -ENOMEM;
        char *at = s->inbuf + s->inlen;
        size_t room = FTPD_LINE_MAX - s->inlen;
        ssize_t n = secure ? ftps_ctl_read(s, at, room, dl)
                    : now
                        ? read_now(s->ctl, at, room)
                        : cio_fd_read(s->ctl, at, room, cio_deadline_in(1000));
        /* A read that filled the room may have left bytes in the socket,
         * which no watch would announce again. */
        s->unread = n > 0 && (size_t)n == room;
        if (now && n == -EAGAIN && s->inlen == 0)
            return -EAGAIN;
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

/* ---- the server's lists: sessions with a task, idle ones without ---- */

static void unlist(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    if (s->listed == FTP_UNLISTED)
        return;
    bool idle = s->listed == FTP_IDLE;
    if (s->prev)
        s->prev->next = s->next;
    else if (idle)
        srv->idle = s->next;
    else
        srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else if (idle)
        srv->idle_tail = s->prev;
    s->prev = s->next = NULL;
    s->listed = FTP_UNLISTED;
}

/* A task runs s now. */
static void list_busy(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    unlist(s);
    s->task = cio_task_self();
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    s->listed = FTP_BUSY;
}

/* s waits without a task: into the idle list, which stays in the order of
 * idle_since (so of the timeouts), walking from the newest. */
static void list_idle(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    unlist(s);
    s->task = NULL;
    struct ftp_session *p = srv->idle_tail;
    while (p && p->idle_since > s->idle_since)
        p = p->prev;
    s->prev = p;
    s->next = p ? p->next : srv->idle;
    if (s->next)
        s->next->prev = s;
    else
        srv->idle_tail = s;
    if (p)
        p->next = s;
    else
        srv->idle = s;
    s->listed = FTP_IDLE;
}

static void session_init(struct ftp_session *s, struct ftpd_server *srv, int fd)
{
    s->srv = srv;
    s->refs = 1;
    s->ctl = fd;
    s->pasv_fd = -1;
    s->idle_since = cio_hub_now();
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
    srv->n_sessions++;
    list_busy(s);
}

/* The session task's end: the session leaves the server (which may be
 * freed next) and a transfer still running, killed by session_logout,
 * keeps only the memory and the control fd until it has unwound. */
static void session_end(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    session_logout(s);
    cio_fd_watch_cancel(&s->watch); /* before the fd closes */
    unlist(s);
    s->task = NULL;
    srv->n_sessions--;
    server_release(srv, s);
    s->srv = NULL;
    session_put(s);
}

/* How a run of the command loop ended. */
enum loop_end {
    LOOP_END, /* the session is over */
    LOOP_IDLE /* it waits for the client with nothing else to do */
};

/* Whether s may wait for its next command without a task: nothing read
 * and not yet handled, no transfer, no TLS (which may hold decrypted
 * bytes the fd's readiness does not show). */
static bool may_idle(const struct ftp_session *s)
{
    return s->inlen == 0 && !s->xfer && !ftps_secure(s);
}

/* How the command loop starts. */
enum loop_start {
    START_WAIT,  /* wait for the next command, or leave the task if idle */
    START_READY, /* a watch found the connection readable: read first */
    START_STAY   /* no watch could be had: wait for one command here */
};

static enum loop_end command_loop(struct ftp_session *s, enum loop_start how)
{
    bool ready = how == START_READY, stay = how == START_STAY;
    struct ftpd_server *srv = s->srv;
    while (!s->quit) {
        if (s->xfer && cio_task_done(s->xfer_task))
            transfer_reap(s);
        if (s->xfer) /* not idle while a transfer runs */
            s->idle_since = cio_hub_now();
        if (srv->stopping && !s->xfer) {
            reply(s, 421, "Server shutting down.");
            return LOOP_END;
        }
        if (s->timed_out) {
            log_event(srv, s, "idle timeout");
            reply(s, 421, "Timeout: closing control connection.");
            return LOOP_END;
        }
        if (!ready && !stay && !s->unread && may_idle(s)) {
            free(s->inbuf); /* empty: an idle session holds no buffer */
            s->inbuf = NULL;
            return LOOP_IDLE;
        }
        ssize_t n = read_line(s, ready || s->unread);
        ready = false;
        if (n == -EAGAIN || n == -EINTR || (n == -ETIMEDOUT && s->xfer))
            continue;
        if (n == -ETIMEDOUT) {
            s->timed_out = true;
            continue;
        }
        if (n < 0)
            return LOOP_END;
        stay = false;
        if (s->xfer && cio_task_done(s->xfer_task))
            transfer_reap(s);
        size_t len = strip_telnet(s->inbuf, (size_t)n);
        s->line_len = (size_t)n;
        dispatch(s, s->inbuf, len);
        /* dispatch may have freed nothing: the line is still at inbuf. */
        memmove(s->inbuf, s->inbuf + n, s->inlen - (size_t)n);
        s->inlen -= (size_t)n;
        s->idle_since = cio_hub_now();
    }
    return LOOP_END;
}

static void *session_wake(void *arg);

/* The idle timer: ends the sessions whose idle timeout has passed (the
 * oldest first), then waits for the next one's. */
static void idle_sweep(cio_timer_t *timer)
{
    struct ftpd_server *srv = cio_timer_data(timer);
    int64_t now = cio_hub_now(), limit = srv->cfg->idle_timeout_ms;
    struct ftp_session *s;
    while ((s = srv->idle) && s->idle_since + limit <= now) {
        unlist(s);
        s->timed_out = true;
        int rc = cio_fd_watch_fire(&s->watch);
        if (rc == -ENOENT) { /* the client sent meanwhile: its task runs */
            s->timed_out = false;
        } else if (rc < 0) { /* no task to be had: again soon */
            list_idle(s);
            break;
        }
    }
    sessions_retime(srv);
}

void sessions_retime(struct ftpd_server *srv)
{
    if (!srv->idle_timer)
        return;
    if (!srv->idle) {
        cio_timer_stop(srv->idle_timer);
        return;
    }
    int64_t at = srv->idle->idle_since + srv->cfg->idle_timeout_ms;
    if (srv->idle->listed == FTP_IDLE && srv->idle->timed_out)
        at = cio_hub_now() + 100; /* a wake that found no memory */
    cio_timer_start_at(srv->idle_timer, at);
}

/* Ends s's task while s waits for its next command: the watch starts a
 * new one when the client sends. 0, or -errno (the task goes on). */
static int go_idle(struct ftp_session *s)
{
    struct ftpd_server *srv = s->srv;
    if (!srv->idle_timer &&
        cio_timer_new(&srv->idle_timer, cio_hub_loop(), idle_sweep, srv) < 0)
        return -ENOMEM;
    if (!srv->watches && cio_watchset_new(&srv->watches) < 0)
        return -ENOMEM;
    bool first = srv->idle == NULL;
    list_idle(s);
    int rc =
        cio_fd_watch_start(&s->watch, srv->watches, s->ctl, session_wake, s);
    if (rc < 0) {
        list_busy(s);
        return rc;
    }
    if (first || !cio_timer_active(srv->idle_timer))
        sessions_retime(srv);
    return 0;
}

/* Logs the end of s and ends it. */
static void session_close(struct ftp_session *s)
{
    log_event(s->srv, s, "disconnect (in %llu, out %llu bytes)",
              (unsigned long long)s->bytes_in,
              (unsigned long long)s->bytes_out);
    session_end(s);
}

/* Runs s in the calling task until it ends or waits without one. */
static void session_serve(struct ftp_session *s, enum loop_start how)
{
    while (command_loop(s, how) == LOOP_IDLE) {
        if (go_idle(s) == 0)
            return; /* s may be running in another task already */
        how = START_STAY;
    }
    session_close(s);
}

/* The task a watch starts when an idle session's client sends (or its
 * timeout or a shutdown wakes it). */
static void *session_wake(void *arg)
{
    struct ftp_session *s = arg;
    list_busy(s);
    session_serve(s,
                  s->timed_out || s->srv->stopping ? START_WAIT : START_READY);
    return NULL;
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
        session_end(s);
        return;
    }
    log_event(srv, s, "connect");
    const char *banner = srv->cfg->banner;
    if ((!implicit || ftps_implicit_accept(s) == 0) &&
        reply(s, 220, "%s", banner ? banner : "corio-ftpd ready.") == 0) {
        session_serve(s, START_WAIT);
        return;
    }
    session_close(s);
}

void session_run(struct ftpd_server *srv, int fd)
{
    session_start(srv, fd, false);
}

void session_run_implicit(struct ftpd_server *srv, int fd)
{
    session_start(srv, fd, true);
}

/* Closes an idle session without a word (a shutdown's grace is over, or
 * no task could be had to tell it). */
static void session_drop(struct ftp_session *s)
{
    unlist(s);
    session_close(s);
}

/* Tells every session of the stop: idle ones get a task that answers 421,
 * a task waiting for a command is interrupted to do so. */
static void stop_notify(struct ftpd_server *srv)
{
    srv->stopping = true;
    for (struct ftp_session *s = srv->sessions; s; s = s->next)
        if (!s->xfer && s->task)
            cio_task_interrupt(s->task);
    struct ftp_session *s, *next;
    for (s = srv->idle; s; s = next) {
        next = s->next;
        unlist(s);
        int rc = cio_fd_watch_fire(&s->watch);
        if (rc < 0 && rc != -ENOENT)
            session_drop(s);
    }
}

void sessions_stop(struct ftpd_server *srv, int64_t deadline_ms)
{
    log_event(srv, NULL, "stopping: %d sessions, %lld ms grace",
              srv->n_sessions, (long long)(deadline_ms - cio_hub_now()));
    stop_notify(srv);
    while (srv->n_sessions > 0 && cio_hub_now() < deadline_ms)
        if (cio_task_sleep(20) < 0)
            break;
    /* Grace is over: cut what is left. Killed tasks unwind at once, and a
     * task a watch started late sees the stop and answers 421; even a
     * killed caller waits for them a little, as the server is freed next. */
    int64_t old = cio_task_shield(2000);
    while (srv->n_sessions > 0) {
        for (struct ftp_session *s = srv->sessions; s; s = s->next)
            if (s->task)
                cio_task_kill(s->task);
        stop_notify(srv); /* idle again since, or left without a task */
        if (cio_task_sleep(10) < 0)
            break;
    }
    cio_task_shield(old);
    cio_timer_free(srv->idle_timer);
    srv->idle_timer = NULL;
    cio_watchset_free(srv->watches);
    srv->watches = NULL;
}
