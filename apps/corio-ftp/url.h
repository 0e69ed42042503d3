/* ftp:// URLs and where a login's password comes from: the URL itself, the
 * CORIO_FTP_PASSWORD environment variable, ~/.netrc, or a terminal prompt. */
#ifndef CORIO_FTP_URL_H
#define CORIO_FTP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ftps.h"

/* A server and the login used on it. */
typedef struct ftp_site {
    char host[256]; /* name or address, IPv6 without brackets */
    uint16_t port;  /* 21 unless the URL gives one */
    char user[128]; /* login name; "anonymous" when none is known */
    char pass[256]; /* password, empty until resolved */
    bool have_user; /* the user came from the URL or the shell */
    bool have_pass; /* pass is final (given or resolved) */
    int tls;        /* FTP_TLS_*, from the scheme */
} ftp_site;

/* A parsed URL: the site plus a path on it. */
typedef struct ftp_url {
    ftp_site site;   /* where */
    char path[4096]; /* decoded; relative to the login directory unless it
                        starts with '/' (written %2F or // in the URL) */
    bool is_dir;     /* the path was empty or ended with '/' */
} ftp_url;

/* Parses ftp://[user[:pass]@]host[:port][/path] (the scheme may be left
 * out; ftps:// and ftpes:// set site.tls). Returns 0, or -EINVAL with a
 * reason in err. */
int url_parse(const char *text, ftp_url *out, char *err, size_t errlen);

/* Fills in site->user/pass from, in order: what the URL gave, the
 * environment variable CORIO_FTP_PASSWORD, ~/.netrc ($HOME), a prompt on
 * the terminal (when may_prompt), and anonymous login. Returns 0, or
 * -EACCES with a reason in err when a user has no password anywhere. */
int site_resolve_login(ftp_site *site, bool may_prompt, char *err,
                       size_t errlen);

/* Looks host up in the netrc file at path: the first `machine` entry for
 * host (whose login matches user when user is non-empty), else `default`.
 * Copies login and password (either may stay empty). Returns 1 if an entry
 * matched, 0 if none, -errno if the file cannot be read. */
int netrc_lookup(const char *path, const char *host, const char *user,
                 char *login, size_t loginlen, char *pass, size_t passlen);

/* Asks for a line on the controlling terminal without echo. Returns 0, or
 * -ENOTTY when there is no terminal, -EIO at end of input. */
int prompt_secret(const char *prompt, char *out, size_t outlen);

/* Writes "ftp://user@host:port/path" (never the password) into out. */
void url_format(const ftp_site *site, const char *path, char *out,
                size_t outlen);

/* True when both sites are the same server and login. */
bool site_same(const ftp_site *a, const ftp_site *b);

#endif
