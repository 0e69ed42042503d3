/* URL parsing and the password sources of url.h. */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* Decodes %XX escapes of src[0..n) into out; refuses NUL, CR and LF, which
 * would let a URL smuggle commands onto the control connection. */
static int pct_decode(const char *src, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)src[i];
        if (ch == '%' && i + 2 < n) {
            int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
            if (hi >= 0 && lo >= 0) {
                ch = hi * 16 + lo;
                i += 2;
            }
        }
        if (ch == 0 || ch == '\r' || ch == '\n')
            return -EINVAL;
        if (o + 1 >= outlen)
            return -ENAMETOOLONG;
        out[o++] = (char)ch;
    }
    out[o] = '\0';
    return 0;
}

static int fail(char *err, size_t errlen, const char *why)
{
    snprintf(err, errlen, "%s", why);
    return -EINVAL;
}

static int parse_authority(const char *a, size_t n, ftp_url *out, char *err,
                           size_t errlen)
{
    ftp_site *s = &out->site;
    const char *at = memrchr(a, '@', n);
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        size_t ulen = colon ? (size_t)(colon - a) : (size_t)(at - a);
        if (pct_decode(a, ulen, s->user, sizeof s->user) < 0)
            return fail(err, errlen, "bad user name");
        s->have_user = s->user[0] != '\0';
        if (colon) {
            if (pct_decode(colon + 1, (size_t)(at - colon - 1), s->pass,
                           sizeof s->pass) < 0)
                return fail(err, errlen, "bad password");
            s->have_pass = true;
        }
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    const char *port = NULL;
    size_t hlen = n;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (!close)
            return fail(err, errlen, "missing ']' after IPv6 address");
        hlen = (size_t)(close - a - 1);
        if (hlen == 0 || hlen >= sizeof s->host)
            return fail(err, errlen, "bad IPv6 address");
        memcpy(s->host, a + 1, hlen);
        s->host[hlen] = '\0';
        if (close + 1 < a + n) {
            if (close[1] != ':')
                return fail(err, errlen, "junk after IPv6 address");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(a, ':', n);
        if (colon) {
            hlen = (size_t)(colon - a);
            port = colon + 1;
        }
        if (hlen == 0 || hlen >= sizeof s->host)
            return fail(err, errlen, "missing or too long host name");
        memcpy(s->host, a, hlen);
        s->host[hlen] = '\0';
    }
    s->port = s->tls == FTP_TLS_IMPLICIT ? 990 : 21;
    if (port && port < a + n) {
        char buf[8];
        size_t plen = (size_t)(a + n - port);
        if (plen >= sizeof buf)
            return fail(err, errlen, "bad port");
        memcpy(buf, port, plen);
        buf[plen] = '\0';
        char *end;
        long v = strtol(buf, &end, 10);
        if (*end || v <= 0 || v > 65535)
            return fail(err, errlen, "bad port");
        s->port = (uint16_t)v;
    }
    return 0;
}

int url_parse(const char *text, ftp_url *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = text;
    if (strncasecmp(p, "ftp://", 6) == 0) {
        p += 6;
    } else if (strncasecmp(p, "ftps://", 7) == 0) {
        p += 7;
        out->site.tls = FTP_TLS_IMPLICIT;
    } else if (strncasecmp(p, "ftpes://", 8) == 0) {
        p += 8;
        out->site.tls = FTP_TLS_EXPLICIT;
    } else if (strstr(p, "://")) {
        return fail(err, errlen,
                    "only ftp://, ftps:// and ftpes:// URLs are supported");
    }
    size_t alen = strcspn(p, "/");
    if (alen == 0)
        return fail(err, errlen, "missing host name");
    if (parse_authority(p, alen, out, err, errlen) < 0)
        return -EINVAL;
    const char *path = p + alen;
    if (*path == '/')
        path++; /* the separator: what follows is relative to login */
    if (pct_decode(path, strlen(path), out->path, sizeof out->path) < 0)
        return fail(err, errlen, "bad or too long path");
    size_t plen = strlen(out->path);
    out->is_dir = plen == 0 || out->path[plen - 1] == '/';
    return 0;
}

/* ---- netrc ---- */

/* Reads the next whitespace-separated (or double-quoted) token. */
static const char *next_token(const char **pp, char *tok, size_t toklen)
{
    const char *p = *pp;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (!*p)
        return NULL;
    size_t n = 0;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < toklen)
                tok[n++] = *p;
            p++;
        }
        if (*p == '"')
            p++;
    } else {
        while (*p && !isspace((unsigned char)*p)) {
            if (n + 1 < toklen)
                tok[n++] = *p;
            p++;
        }
    }
    tok[n] = '\0';
    *pp = p;
    return tok;
}

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0 || len + 1 < cap)
            break;
        if (cap >= (1u << 20))
            break; /* a netrc is small; ignore the rest of a huge file */
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

/* Entry being read: which machine, and what it said. */
typedef struct netrc_entry {
    bool is_default;   /* a `default` entry */
    bool matches_host; /* `machine` equals the host we look for */
    char login[128];   /* its login, empty if none */
    char pass[256];    /* its password, empty if none */
} netrc_entry;

static bool entry_fits(const netrc_entry *e, const char *user)
{
    return !user || !user[0] || !e->login[0] || strcmp(e->login, user) == 0;
}

int netrc_lookup(const char *path, const char *host, const char *user,
                 char *login, size_t loginlen, char *pass, size_t passlen)
{
    char *text = read_small_file(path);
    if (!text)
        return -errno;
    const char *p = text;
    char tok[256];
    netrc_entry cur = {0}, dflt = {0};
    bool in_entry = false, found = false, have_default = false;
    for (;;) {
        const char *t = next_token(&p, tok, sizeof tok);
        bool boundary = !t || !strcmp(t, "machine") || !strcmp(t, "default");
        if (boundary && in_entry) {
            if (cur.matches_host && entry_fits(&cur, user)) {
                found = true;
                break;
            }
            if (cur.is_default && !have_default && entry_fits(&cur, user)) {
                dflt = cur;
                have_default = true;
            }
            in_entry = false;
        }
        if (!t)
            break;
        if (!strcmp(t, "machine")) {
            memset(&cur, 0, sizeof cur);
            in_entry = true;
            if (next_token(&p, tok, sizeof tok))
                cur.matches_host = strcasecmp(tok, host) == 0;
        } else if (!strcmp(t, "default")) {
            memset(&cur, 0, sizeof cur);
            cur.is_default = in_entry = true;
        } else if (!strcmp(t, "login") && in_entry) {
            if (next_token(&p, tok, sizeof tok))
                snprintf(cur.login, sizeof cur.login, "%.127s", tok);
        } else if (!strcmp(t, "password") && in_entry) {
            if (next_token(&p, tok, sizeof tok))
                snprintf(cur.pass, sizeof cur.pass, "%s", tok);
        } else if (!strcmp(t, "account")) {
            next_token(&p, tok, sizeof tok);
        } else if (!strcmp(t, "macdef")) {
            /* a macro runs to the next blank line */
            const char *end = strstr(p, "\n\n");
            p = end ? end + 2 : p + strlen(p);
            in_entry = false;
        }
    }
    free(text);
    if (!found && !have_default)
        return 0;
    const netrc_entry *e = found ? &cur : &dflt;
    snprintf(login, loginlen, "%s", e->login);
    snprintf(pass, passlen, "%s", e->pass);
    return 1;
}

/* ---- prompting ---- */

int prompt_secret(const char *prompt, char *out, size_t outlen)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -ENOTTY;
    struct termios old, quiet;
    bool restore = tcgetattr(fd, &old) == 0;
    if (restore) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ICANON;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    if (write(fd, prompt, strlen(prompt)) < 0) {
        /* nothing to do: the read still works */
    }
    size_t n = 0;
    int rc = -EIO;
    for (;;) {
        char ch;
        ssize_t got = read(fd, &ch, 1);
        if (got <= 0)
            break;
        if (ch == '\n' || ch == '\r') {
            rc = 0;
            break;
        }
        if (n + 1 < outlen)
            out[n++] = ch;
    }
    out[n] = '\0';
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0) {
        /* the newline only tidies the screen */
    }
    close(fd);
    return rc;
}

int site_resolve_login(ftp_site *site, bool may_prompt, char *err,
                       size_t errlen)
{
    if (site->have_pass)
        return 0;
    const char *env = getenv("CORIO_FTP_PASSWORD");
    if (env && site->have_user) {
        snprintf(site->pass, sizeof site->pass, "%s", env);
        site->have_pass = true;
        return 0;
    }
    const char *home = getenv("HOME");
    if (home && *home) {
        char path[4096], login[128], pass[256];
        snprintf(path, sizeof path, "%s/.netrc", home);
        int rc =
            netrc_lookup(path, site->host, site->have_user ? site->user : NULL,
                         login, sizeof login, pass, sizeof pass);
        if (rc > 0 && (login[0] || site->have_user)) {
            if (!site->have_user) {
                snprintf(site->user, sizeof site->user, "%s", login);
                site->have_user = true;
            }
            if (pass[0]) {
                snprintf(site->pass, sizeof site->pass, "%s", pass);
                site->have_pass = true;
            }
        }
        if (site->have_pass)
            return 0;
    }
    if (env && site->have_user) { /* a login named by netrc alone */
        snprintf(site->pass, sizeof site->pass, "%s", env);
        site->have_pass = true;
        return 0;
    }
    if (!site->have_user) {
        snprintf(site->user, sizeof site->user, "anonymous");
        snprintf(site->pass, sizeof site->pass, "corio-ftp@");
        site->have_pass = true;
        return 0;
    }
    if (may_prompt && isatty(STDIN_FILENO)) {
        char prompt[512];
        snprintf(prompt, sizeof prompt, "Password for %s@%s: ", site->user,
                 site->host);
        if (prompt_secret(prompt, site->pass, sizeof site->pass) == 0) {
            site->have_pass = true;
            return 0;
        }
    }
    snprintf(err, errlen,
             "no password for %s@%s (put it in the URL, CORIO_FTP_PASSWORD "
             "or ~/.netrc, or run on a terminal)",
             site->user, site->host);
    return -EACCES;
}

void url_format(const ftp_site *site, const char *path, char *out,
                size_t outlen)
{
    bool v6 = strchr(site->host, ':') != NULL;
    char port[16] = "";
    static const char *const scheme[] = {"ftp", "ftpes", "ftps"};
    if (site->port != (site->tls == FTP_TLS_IMPLICIT ? 990 : 21))
        snprintf(port, sizeof port, ":%u", site->port);
    snprintf(out, outlen, "%s://%s%s%s%s%s%s/%s", scheme[site->tls],
             site->have_user ? site->user : "", site->have_user ? "@" : "",
             v6 ? "[" : "", site->host, v6 ? "]" : "", port, path ? path : "");
}

bool site_same(const ftp_site *a, const ftp_site *b)
{
    return a->port == b->port && a->tls == b->tls &&
           strcasecmp(a->host, b->host) == 0 && strcmp(a->user, b->user) == 0 &&
           strcmp(a->pass, b->pass) == 0;
}
