/* MLSD and LIST parsing for listing.h. */
#include "listing.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int add(ftp_listing *l, const char *name, size_t nlen, char type,
               int64_t size, int64_t mtime, bool exact)
{
    if (nlen == 0 || memchr(name, '/', nlen) || (nlen == 1 && name[0] == '.') ||
        (nlen == 2 && name[0] == '.' && name[1] == '.'))
        return 0; /* never let a server name a path outside the directory */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        ftp_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *copy = strndup(name, nlen);
    if (!copy)
        return -ENOMEM;
    l->v[l->n++] = (ftp_entry){copy, type, size, mtime, exact};
    return 0;
}

/* "YYYYMMDDHHMMSS[.sss]" in UTC. */
static int64_t parse_mlsd_time(const char *v, size_t n)
{
    struct tm tm = {0};
    if (n < 14)
        return -1;
    for (size_t i = 0; i < 14; i++)
        if (!isdigit((unsigned char)v[i]))
            return -1;
    if (sscanf(v, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* "fact=value;fact=value; name" */
static int parse_mlsd_line(const char *line, size_t len, ftp_listing *out)
{
    const char *sp = memchr(line, ' ', len);
    if (!sp)
        return 0;
    char type = '?';
    int64_t size = -1, mtime = -1;
    const char *p = line;
    while (p < sp) {
        const char *semi = memchr(p, ';', (size_t)(sp - p));
        const char *end = semi ? semi : sp;
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = (size_t)(end - eq - 1);
            const char *v = eq + 1;
            if (klen == 4 && !strncasecmp(p, "type", 4)) {
                if (vlen == 4 && !strncasecmp(v, "file", 4))
                    type = 'f';
                else if (vlen == 3 && !strncasecmp(v, "dir", 3))
                    type = 'd';
                else if ((vlen == 4 && !strncasecmp(v, "cdir", 4)) ||
                         (vlen == 4 && !strncasecmp(v, "pdir", 4)))
                    return 0;
                else if (memmem(v, vlen, "link", 4))
                    type = 'l'; /* OS.unix=slink:target */
            } else if (klen == 4 && !strncasecmp(p, "size", 4)) {
                size = strtoll(v, NULL, 10);
            } else if (klen == 6 && !strncasecmp(p, "modify", 6)) {
                mtime = parse_mlsd_time(v, vlen);
            }
        }
        p = end + 1;
    }
    return add(out, sp + 1, (size_t)(line + len - sp - 1), type, size, mtime,
               mtime >= 0);
}

static int month_of(const char *tok)
{
    static const char names[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (strlen(tok) != 3)
        return -1;
    for (int m = 0; m < 12; m++)
        if (!strncasecmp(tok, names + 3 * m, 3))
            return m;
    return -1;
}

/* Splits off up to max whitespace-separated tokens; start[i] points into
 * line. Returns how many. */
static int tokens(const char *line, size_t len, const char **start,
                  size_t *tlen, int max)
{
    int n = 0;
    size_t i = 0;
    while (n < max) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i >= len)
            break;
        start[n] = line + i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        tlen[n] = (size_t)(line + i - start[n]);
        n++;
    }
    return n;
}

/* LIST time "Jan 02 12:34" (within the last year) or "Jan 02 2023". */
static int64_t list_time(int mon, const char *day, const char *clock_or_year)
{
    struct tm tm = {0};
    tm.tm_mon = mon;
    tm.tm_mday = atoi(day);
    time_t now = time(NULL);
    struct tm nowtm;
    gmtime_r(&now, &nowtm);
    if (strchr(clock_or_year, ':')) {
        sscanf(clock_or_year, "%d:%d", &tm.tm_hour, &tm.tm_min);
        tm.tm_year = nowtm.tm_year;
        if (timegm(&tm) > now + 86400)
            tm.tm_year--;
    } else {
        tm.tm_year = atoi(clock_or_year) - 1900;
    }
    return (int64_t)timegm(&tm);
}

/* "drwxr-xr-x 2 user group 4096 Jan  1 12:00 name": the size is the number
 * before the month, the name whatever follows the time, so lines without a
 * group or with extra columns parse too. */
static int parse_unix_line(const char *line, size_t len, ftp_listing *out)
{
    const char *tok[12];
    size_t tlen[12];
    int n = tokens(line, len, tok, tlen, 12);
    char kind = line[0] == 'd'   ? 'd'
                : line[0] == 'l' ? 'l'
                : line[0] == '-' ? 'f'
                                 : '?';
    for (int i = 2; i + 3 < n; i++) {
        char t[8], day[8], when[8];
        if (tlen[i] >= sizeof t || tlen[i + 1] >= sizeof day ||
            tlen[i + 2] >= sizeof when)
            continue;
        memcpy(t, tok[i], tlen[i]);
        t[tlen[i]] = '\0';
        int mon = month_of(t);
        if (mon < 0 || !isdigit((unsigned char)tok[i - 1][0]) ||
            !isdigit((unsigned char)tok[i + 1][0]))
            continue;
        memcpy(day, tok[i + 1], tlen[i + 1]);
        day[tlen[i + 1]] = '\0';
        memcpy(when, tok[i + 2], tlen[i + 2]);
        when[tlen[i + 2]] = '\0';
        const char *name = tok[i + 3];
        size_t nlen = (size_t)(line + len - name);
        if (kind == 'l') {
            const char *arrow = strstr(name, " -> ");
            if (arrow && arrow < line + len)
                nlen = (size_t)(arrow - name);
        }
        return add(out, name, nlen, kind, strtoll(tok[i - 1], NULL, 10),
                   list_time(mon, day, when), false);
    }
    return 0;
}

/* "01-02-24  12:34PM       <DIR>          name" or "... 1234 name". */
static int parse_dos_line(const char *line, size_t len, ftp_listing *out)
{
    const char *tok[4];
    size_t tlen[4];
    if (tokens(line, len, tok, tlen, 3) < 3)
        return 0;
    const char *p = tok[2] + tlen[2];
    while (p < line + len && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= line + len)
        return 0;
    bool dir = tlen[2] == 5 && !strncmp(tok[2], "<DIR>", 5);
    return add(out, p, (size_t)(line + len - p), dir ? 'd' : 'f',
               dir ? -1 : strtoll(tok[2], NULL, 10), -1, false);
}

int listing_parse(const char *text, size_t len, bool is_mlsd, ftp_listing *out)
{
    const char *end = text + len;
    for (const char *p = text; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t n = (size_t)(stop - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        int rc = 0;
        if (n == 0 || (!is_mlsd && !strncmp(p, "total ", 6)))
            rc = 0;
        else if (is_mlsd)
            rc = parse_mlsd_line(p, n, out);
        else if (isdigit((unsigned char)p[0]))
            rc = parse_dos_line(p, n, out);
        else
            rc = parse_unix_line(p, n, out);
        if (rc < 0)
            return rc;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

void listing_free(ftp_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    memset(l, 0, sizeof *l);
}

const ftp_entry *listing_find(const ftp_listing *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* One line of a LIST body and what it says, for sorting. */
typedef struct sort_line {
    const char *text; /* the line, without its line end */
    size_t len;       /* its length */
    ftp_entry en;     /* its entry; en.name NULL when it names none */
    size_t pos;       /* where the server put it */
} sort_line;

/* qsort takes no argument: the order is per thread, set just before. */
typedef struct sort_ctx {
    listing_order order; /* the key */
    bool reverse;        /* flip it */
} sort_ctx;

static _Thread_local sort_ctx sort_by;

static int cmp_lines(const void *pa, const void *pb)
{
    const sort_line *a = pa, *b = pb;
    if (!a->en.name || !b->en.name) /* unparsed lines first, as sent */
        return a->en.name   ? 1
               : b->en.name ? -1
                            : (a->pos > b->pos) - (a->pos < b->pos);
    int c = 0;
    if (sort_by.order == LISTING_BY_TIME)
        c = (a->en.mtime < b->en.mtime) - (a->en.mtime > b->en.mtime);
    else if (sort_by.order == LISTING_BY_SIZE)
        c = (a->en.size < b->en.size) - (a->en.size > b->en.size);
    else if (sort_by.order == LISTING_AS_SENT)
        c = (a->pos > b->pos) - (a->pos < b->pos);
    if (c == 0)
        c = strcmp(a->en.name, b->en.name);
    return sort_by.reverse ? -c : c;
}

void listing_sort_text(char **text, size_t *len, listing_order order,
                       bool reverse)
{
    size_t n = 0, cap = 0;
    sort_line *lines = NULL;
    const char *p = *text, *end = *text + *len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t l = (size_t)(stop - p);
        if (l > 0 && p[l - 1] == '\r')
            l--;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            sort_line *grown = realloc(lines, cap * sizeof *grown);
            if (!grown)
                goto out;
            lines = grown;
        }
        ftp_listing one = {0};
        lines[n] = (sort_line){p, l, {NULL, '?', -1, -1, false}, n};
        if (l > 0 && strncmp(p, "total ", 6) &&
            listing_parse(p, l, false, &one) == 0 && one.n == 1) {
            lines[n].en = one.v[0];
            free(one.v);
        } else {
            listing_free(&one);
        }
        n++;
        p = nl ? nl + 1 : end;
    }
    char *sorted = malloc(*len + 2);
    if (!sorted)
        goto out;
    sort_by = (sort_ctx){order, reverse};
    qsort(lines, n, sizeof *lines, cmp_lines);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(sorted + w, lines[i].text, lines[i].len);
        w += lines[i].len;
        sorted[w++] = '\n';
    }
    free(*text);
    *text = sorted;
    *len = w;
out:
    for (size_t i = 0; i < n; i++)
        free(lines[i].en.name);
    free(lines);
}

int listing_flags(const char *flags, listing_order *order, bool *reverse)
{
    for (const char *f = flags; *f; f++) {
        if (*f == 't')
            *order = LISTING_BY_TIME;
        else if (*f == 'S')
            *order = LISTING_BY_SIZE;
        else if (*f == 'U')
            *order = LISTING_AS_SENT;
        else if (*f == 'r')
            *reverse = true;
        else if (*f != 'l' && *f != 'a')
            return (unsigned char)*f;
    }
    return 0;
}
