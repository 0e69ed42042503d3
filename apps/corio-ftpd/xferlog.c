/* xferlog lines: see xferlog.h. */
#include "xferlog.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Copy `s` into `out`, blanks and control characters made '_', "*" when
 * empty. */
static void field(const char *s, char *out, size_t len)
{
    size_t n = 0;
    if (!s || !*s)
        s = "*";
    for (; *s && n + 1 < len; s++) {
        unsigned char c = (unsigned char)*s;
        out[n++] = (c <= 0x20 || c == 0x7f) ? '_' : (char)c;
    }
    out[n] = '\0';
}

int xferlog_format(char *buf, size_t len, const struct xferlog_entry *e)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
    char path[PATH_MAX], user[256], host[64];
    struct tm tm;

    if (!localtime_r(&e->end, &tm))
        memset(&tm, 0, sizeof tm);
    long secs = e->seconds >= 1 ? (long)(e->seconds + 0.5) : 1;
    field(e->path, path, sizeof path);
    field(e->user, user, sizeof user);
    field(e->remote_host, host, sizeof host);
    char dir = e->direction == 'i' || e->direction == 'd' ? e->direction : 'o';
    int n = snprintf(buf, len,
                     "%s %s %2d %02d:%02d:%02d %d %ld %s %lld %s %c _ %c %c "
                     "%s ftp 0 * %c\n",
                     days[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900, secs,
                     host, e->bytes, path, e->ascii ? 'a' : 'b', dir,
                     e->anonymous ? 'a' : 'r', user, e->complete ? 'c' : 'i');
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return -ENOSPC;
    }
    return n;
}

int xferlog_write(int fd, const struct xferlog_entry *e)
{
    char line[PATH_MAX + 512];
    int n = xferlog_format(line, sizeof line, e);
    if (n < 0)
        return n;
    ssize_t w = write(fd, line, (size_t)n);
    if (w < 0)
        return -errno;
    return w == n ? 0 : -EIO;
}
