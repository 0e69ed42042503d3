/* LIST and MLSx lines: see listing.h. Month names are spelled out here
 * rather than taken from strftime so the locale can never change what
 * clients have to parse. */
#include "listing.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Half a Gregorian year, as ls(1) counts "older than six months". */
#define SIX_MONTHS ((time_t)(365.2425 * 24 * 3600 / 2))

static char type_char(mode_t m)
{
    switch (m & S_IFMT) {
    case S_IFDIR:
        return 'd';
    case S_IFLNK:
        return 'l';
    case S_IFIFO:
        return 'p';
    case S_IFSOCK:
        return 's';
    case S_IFCHR:
        return 'c';
    case S_IFBLK:
        return 'b';
    default:
        return '-';
    }
}

/* "drwxr-sr-t" style: type, then rwx for user, group and other with the
 * set-id and sticky bits folded into the x columns. */
static void mode_string(mode_t m, char out[11])
{
    static const char rwx[] = "rwxrwxrwx";
    out[0] = type_char(m);
    for (int i = 0; i < 9; i++)
        out[1 + i] = (m & (0400u >> i)) ? rwx[i] : '-';
    if (m & S_ISUID)
        out[3] = (m & S_IXUSR) ? 's' : 'S';
    if (m & S_ISGID)
        out[6] = (m & S_IXGRP) ? 's' : 'S';
    if (m & S_ISVTX)
        out[9] = (m & S_IXOTH) ? 't' : 'T';
    out[10] = '\0';
}

static int finish(char *buf, size_t len, int n)
{
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = '\0';
        return -ENAMETOOLONG;
    }
    return n;
}

int listing_ls_line_owner(char *buf, size_t len, const char *name,
                          const struct stat *st, time_t now, const char *owner,
                          const char *group)
{
    char mode[11], when[96], uid[16], gid[16];
    struct tm tm;
    time_t t = st->st_mtime;

    mode_string(st->st_mode, mode);
    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    int mon = tm.tm_mon >= 0 && tm.tm_mon < 12 ? tm.tm_mon : 0;
    if (t > now || t < now - SIX_MONTHS)
        snprintf(when, sizeof when, "%s %2d %5d", months[mon], tm.tm_mday,
                 tm.tm_year + 1900);
    else
        snprintf(when, sizeof when, "%s %2d %02d:%02d", months[mon], tm.tm_mday,
                 tm.tm_hour, tm.tm_min);
    snprintf(uid, sizeof uid, "%u", (unsigned)st->st_uid);
    snprintf(gid, sizeof gid, "%u", (unsigned)st->st_gid);
    int n = snprintf(buf, len, "%s %4lu %-8s %-8s %8lld %s %s", mode,
                     (unsigned long)st->st_nlink, owner ? owner : uid,
                     group ? group : gid, (long long)st->st_size, when, name);
    return finish(buf, len, n);
}

int listing_ls_line(char *buf, size_t len, const char *name,
                    const struct stat *st, time_t now)
{
    return listing_ls_line_owner(buf, len, name, st, now, NULL, NULL);
}

/* The permission bits that apply to this process (owner, group or other;
 * supplementary groups not considered), as r=4 w=2 x=1. */
static unsigned our_access(const struct stat *st)
{
    uid_t uid = geteuid();
    if (uid == 0)
        return 7;
    if (st->st_uid == uid)
        return (st->st_mode >> 6) & 7;
    if (st->st_gid == getegid())
        return (st->st_mode >> 3) & 7;
    return st->st_mode & 7;
}

/* RFC 3659 7.5.5 perm letters, in alphabetical order. */
static void perm_fact(const struct stat *st, unsigned may, char out[16])
{
    unsigned acc = our_access(st);
    int r = acc & 4, w = acc & 2, x = acc & 1;
    size_t n = 0;
    if (S_ISDIR(st->st_mode)) {
        if ((may & LISTING_MAY_WRITE) && w)
            out[n++] = 'c';
        if (may & LISTING_MAY_DELETE)
            out[n++] = 'd';
        if ((may & LISTING_MAY_LIST) && x)
            out[n++] = 'e';
        if (may & LISTING_MAY_RENAME)
            out[n++] = 'f';
        if ((may & LISTING_MAY_LIST) && r)
            out[n++] = 'l';
        if ((may & LISTING_MAY_MKDIR) && w)
            out[n++] = 'm';
        if ((may & LISTING_MAY_DELETE) && w)
            out[n++] = 'p';
    } else {
        if ((may & LISTING_MAY_WRITE) && w)
            out[n++] = 'a';
        if (may & LISTING_MAY_DELETE)
            out[n++] = 'd';
        if (may & LISTING_MAY_RENAME)
            out[n++] = 'f';
        if ((may & LISTING_MAY_READ) && r)
            out[n++] = 'r';
        if ((may & LISTING_MAY_WRITE) && w)
            out[n++] = 'w';
    }
    out[n] = '\0';
}

static const char *type_fact(const struct stat *st)
{
    switch (st->st_mode & S_IFMT) {
    case S_IFREG:
        return "file";
    case S_IFDIR:
        return "dir";
    case S_IFLNK:
        return "OS.unix=symlink";
    case S_IFIFO:
        return "OS.unix=fifo";
    case S_IFSOCK:
        return "OS.unix=socket";
    case S_IFCHR:
        return "OS.unix=chr";
    case S_IFBLK:
        return "OS.unix=blk";
    default:
        return "OS.unix=unknown";
    }
}

const char *const listing_fact_names[LISTING_FACTS] = {
    "modify", "perm", "size", "type", "unique", "UNIX.mode"};

/* A line being formatted: snprintf's count goes on past the end, so that
 * finish() sees an overflow. */
struct line {
    char *buf;  /* the output */
    size_t len; /* its size */
    size_t n;   /* characters so far (may exceed len) */
    bool bad;   /* an encoding error */
};

static void add(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(l->buf + (l->n < l->len ? l->n : l->len),
                      l->n < l->len ? l->len - l->n : 0, fmt, ap);
    va_end(ap);
    if (w < 0)
        l->bad = true;
    else
        l->n += (size_t)w;
}

int listing_mlsx_facts_sel(char *buf, size_t len, const char *name,
                           const struct stat *st, const char *type,
                           unsigned may, unsigned hide)
{
    char perm[16];
    struct tm tm;
    time_t t = st->st_mtime;
    struct line l = {.buf = buf, .len = len};

    if (!gmtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    perm_fact(st, may, perm);
    if (!(hide & LISTING_FACT_MODIFY))
        add(&l, "modify=%04d%02d%02d%02d%02d%02d;", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!(hide & LISTING_FACT_PERM))
        add(&l, "perm=%s;", perm);
    if (!(hide & LISTING_FACT_SIZE) && !S_ISDIR(st->st_mode))
        add(&l, "size=%lld;", (long long)st->st_size);
    if (!(hide & LISTING_FACT_TYPE))
        add(&l, "type=%s;", type ? type : type_fact(st));
    if (!(hide & LISTING_FACT_UNIQUE))
        add(&l, "unique=%llxU%llx;", (unsigned long long)st->st_dev,
            (unsigned long long)st->st_ino);
    if (!(hide & LISTING_FACT_UNIX_MODE))
        add(&l, "UNIX.mode=0%o;", (unsigned)(st->st_mode & 07777));
    add(&l, " %s", name);
    return finish(buf, len, l.bad || l.n > INT_MAX ? -1 : (int)l.n);
}

int listing_mlsx_facts_perm(char *buf, size_t len, const char *name,
                            const struct stat *st, const char *type,
                            unsigned may)
{
    return listing_mlsx_facts_sel(buf, len, name, st, type, may, 0);
}

int listing_mlsx_facts(char *buf, size_t len, const char *name,
                       const struct stat *st, const char *type)
{
    return listing_mlsx_facts_perm(buf, len, name, st, type, LISTING_MAY_ALL);
}

int listing_name_ok(const char *name)
{
    return name && name[0] != '\0' && strpbrk(name, "\r\n") == NULL;
}
