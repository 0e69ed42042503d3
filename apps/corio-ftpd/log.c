/* The event log (one line per session event) and the xferlog (one line
 * per transfer). Each line goes out in one write(2) on an O_APPEND file, so
 * lines never interleave and logrotate's copytruncate is safe. */
#include "ftpd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xferlog.h"

struct ftpd_log {
    int events; /* event log fd, -1 = none */
    int xfer;   /* xferlog fd, -1 = none */
};

static int open_append(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return fd;
}

struct ftpd_log *log_open(const struct ftpd_config *cfg, char *err,
                          size_t errlen)
{
    struct ftpd_log *l = calloc(1, sizeof(*l));
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->events = l->xfer = -1;
    if (cfg->quiet)
        l->events = -1;
    else if (!cfg->log_file || !strcmp(cfg->log_file, "-"))
        l->events = STDERR_FILENO;
    else if ((l->events = open_append(cfg->log_file, err, errlen)) < 0)
        goto fail;
    if (cfg->xferlog && (l->xfer = open_append(cfg->xferlog, err, errlen)) < 0)
        goto fail;
    return l;
fail:
    log_close(l);
    return NULL;
}

void log_close(struct ftpd_log *l)
{
    if (!l)
        return;
    if (l->events > STDERR_FILENO)
        close(l->events);
    if (l->xfer >= 0)
        close(l->xfer);
    free(l);
}

void log_event(struct ftpd_server *srv, struct ftp_session *s, const char *fmt,
               ...)
{
    if (!srv || !srv->log || srv->log->events < 0)
        return; /* no server: a killed transfer after its session ended */
    char line[1024];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    size_t n = strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S ", &tm);
    if (s)
        n += (size_t)snprintf(line + n, sizeof(line) - n,
                              "[%llu] %s %s: ", (unsigned long long)s->id,
                              s->peer_str,
                              s->user       ? s->user->name
                              : s->username ? s->username
                                            : "-");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : n + (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    if (write(srv->log->events, line, n) < 0)
        return; /* nowhere to report it */
}

void log_transfer(struct ftp_session *s, const char *vpath, off_t bytes,
                  int64_t ms, bool upload, bool ascii, bool complete)
{
    struct ftpd_log *l = s->srv->log;
    if (!l || l->xfer < 0)
        return;
    struct xferlog_entry e = {
        .end = time(NULL),
        .seconds = (double)ms / 1000.0,
        .remote_host = s->peer_str,
        .bytes = (long long)bytes,
        .path = vpath,
        .ascii = ascii,
        .direction = upload ? 'i' : 'o',
        .anonymous = s->user && s->user->anonymous,
        .user = s->user ? s->user->name : "-",
        .complete = complete,
    };
    xferlog_write(l->xfer, &e);
}
