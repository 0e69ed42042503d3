/* Data connections and transfers: PASV EPSV PORT EPRT REST RETR STOR APPE
 * STOU LIST NLST MLSD ABOR. The handlers check paths and rights, then
 * transfer.c moves the bytes in a task of its own. */
#include "commands.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static bool refuse_after_epsv_all(struct ftp_session *s, const char *verb)
{
    if (!s->epsv_all)
        return false;
    reply(s, 503, "%s not allowed after EPSV ALL.", verb);
    return true;
}

void cmd_pasv(struct ftp_session *s, char *arg)
{
    if (refuse_after_epsv_all(s, "PASV"))
        return;
    struct in_addr a4;
    const char *adv = s->srv->cfg->pasv_address;
    if (adv) {
        inet_pton(AF_INET, adv, &a4);
    } else if (s->local.sa.sa_family == AF_INET) {
        a4 = s->local.in.sin_addr;
    } else if (IN6_IS_ADDR_V4MAPPED(&s->local.in6.sin6_addr)) {
        memcpy(&a4, &s->local.in6.sin6_addr.s6_addr[12], 4);
    } else {
        reply(s, 425, "PASV needs IPv4; use EPSV.");
        return;
    }
    int port, rc = data_listen(s, &port);
    if (rc < 0) {
        reply(s, 425, "Cannot open passive connection: %s.", cio_strerror(rc));
        return;
    }
    const unsigned char *b = (const unsigned char *)&a4;
    reply(s, 227, "Entering Passive Mode (%u,%u,%u,%u,%d,%d).", b[0], b[1],
          b[2], b[3], port >> 8, port & 255);
}

void cmd_epsv(struct ftp_session *s, char *arg)
{
    int fam = s->local.sa.sa_family == AF_INET ||
                      IN6_IS_ADDR_V4MAPPED(&s->local.in6.sin6_addr)
                  ? 1
                  : 2;
    if (!strcasecmp(arg, "ALL")) {
        s->epsv_all = true;
        reply(s, 200, "EPSV ALL ok.");
        return;
    }
    if (*arg && strcmp(arg, fam == 1 ? "1" : "2") != 0) {
        if (!strcmp(arg, "1") || !strcmp(arg, "2"))
            reply(s, 522, "Network protocol not supported, use (%d)", fam);
        else
            reply(s, 501, "Syntax: EPSV [1|2|ALL]");
        return;
    }
    int port, rc = data_listen(s, &port);
    if (rc < 0) {
        reply(s, 425, "Cannot open passive connection: %s.", cio_strerror(rc));
        return;
    }
    reply(s, 229, "Entering Extended Passive Mode (|||%d|)", port);
}

static void active_target(struct ftp_session *s, char *arg, bool extended)
{
    const char *verb = extended ? "EPRT" : "PORT";
    if (refuse_after_epsv_all(s, verb))
        return;
    data_reset(s);
    int code = extended ? data_parse_eprt(s, arg) : data_parse_port(s, arg);
    switch (code) {
    case 0:
        reply(s, 200, "%s command successful.", verb);
        break;
    case 501:
        reply(s, 501, "Syntax error in %s arguments.", verb);
        break;
    case 522:
        reply(s, 522, "Network protocol not supported, use (1,2)");
        break;
    default:
        log_event(s->srv, s, "refused %s %s", verb, arg);
        reply(s, 504, "%s refused: only to your own address, port 1024+.",
              verb);
    }
}

void cmd_port(struct ftp_session *s, char *arg)
{
    active_target(s, arg, false);
}

void cmd_eprt(struct ftp_session *s, char *arg)
{
    active_target(s, arg, true);
}

void cmd_rest(struct ftp_session *s, char *arg)
{
    char *end;
    if (*arg < '0' || *arg > '9') {
        reply(s, 501, "REST needs a decimal number >= 0.");
        return;
    }
    errno = 0;
    long long off = strtoll(arg, &end, 10);
    if (*end || errno || off < 0) {
        reply(s, 501, "REST needs a decimal number >= 0.");
        return;
    }
    s->rest = (off_t)off;
    reply(s, 350, "Restarting at %lld. Send STOR or RETR.", off);
}

/* Resolves the path and checks perm, then starts the transfer. */
static void start(struct ftp_session *s, char *arg, enum xfer_kind kind,
                  unsigned perm)
{
    char path[VFS_PATH_MAX];
    if (!session_target(s, arg, perm, path))
        return;
    transfer_begin(s, kind, path, NULL);
}

void cmd_retr(struct ftp_session *s, char *arg)
{
    start(s, arg, X_RETR, FTP_PERM_READ);
}

void cmd_stor(struct ftp_session *s, char *arg)
{
    start(s, arg, X_STOR, FTP_PERM_WRITE);
}

void cmd_appe(struct ftp_session *s, char *arg)
{
    start(s, arg, X_APPE, FTP_PERM_WRITE);
}

void cmd_stou(struct ftp_session *s, char *arg)
{
    start(s, *arg ? arg : "stou", X_STOU, FTP_PERM_WRITE);
}

#define GLOB_STARS_MAX 8 /* '*'s a pattern may hold: fnmatch backtracks */

/* LIST and NLST of a path whose last component holds *, ? or [ and that
 * does not exist under that very name: the matching names of the
 * directory part (mget *.txt). True if it was one (and has replied). */
static bool glob_listing(struct ftp_session *s, char *arg, enum xfer_kind kind,
                         const char *opts)
{
    char path[VFS_PATH_MAX];
    struct stat st;
    char *slash = strrchr(arg, '/'), *pattern = slash ? slash + 1 : arg;
    if (kind == X_MLSD || !strpbrk(pattern, "*?["))
        return false;
    if (vfs_resolve(session_cwd(s), arg, path, sizeof(path)) == 0 &&
        vfs_lstat(s->vfs, path, &st) == 0)
        return false; /* a name with a * in it: list it as it is */
    int stars = 0;
    for (const char *p = pattern; *p; p++)
        stars += *p == '*';
    if (strlen(pattern) > NAME_MAX || stars > GLOB_STARS_MAX) {
        reply(s, 501, "Pattern too long or with too many '*'.");
        return true;
    }
    /* The directory part as typed ("" for the cwd), kept for NLST. */
    char prefix[VFS_PATH_MAX];
    size_t plen = (size_t)(pattern - arg);
    if (plen >= sizeof(prefix)) {
        reply(s, 550, "File name too long.");
        return true;
    }
    memcpy(prefix, arg, plen);
    prefix[plen] = '\0';
    if (!session_target(s, plen ? prefix : ".", FTP_PERM_LIST, path))
        return true;
    transfer_begin_glob(s, kind, path, opts, pattern, prefix);
    return true;
}

/* LIST and NLST take ls options ("-la") before the path; keep them apart. */
static void listing(struct ftp_session *s, char *arg, enum xfer_kind kind)
{
    char path[VFS_PATH_MAX];
    const char *opts = "";
    while (*arg == '-' && kind != X_MLSD) {
        opts = arg;
        char *sp = strchr(arg, ' ');
        if (!sp) {
            arg += strlen(arg);
            break;
        }
        *sp = '\0';
        arg = sp + 1;
        while (*arg == ' ')
            arg++;
    }
    if (glob_listing(s, arg, kind, opts))
        return;
    if (!session_target(s, arg, FTP_PERM_LIST, path))
        return;
    struct stat st;
    if (kind == X_MLSD && vfs_stat(s->vfs, path, &st) == 0 &&
        !S_ISDIR(st.st_mode)) {
        /* RFC 3659 7.2: not a directory is a syntax error, before any
         * data connection is needed. */
        reply(s, 501, "%s: not a directory.", path);
        return;
    }
    transfer_begin(s, kind, path, opts);
}

void cmd_list(struct ftp_session *s, char *arg)
{
    listing(s, arg, X_LIST);
}

void cmd_nlst(struct ftp_session *s, char *arg)
{
    listing(s, arg, X_NLST);
}

void cmd_mlsd(struct ftp_session *s, char *arg)
{
    listing(s, arg, X_MLSD);
}

void cmd_abor(struct ftp_session *s, char *arg)
{
    bool running = s->xfer && transfer_abort(s);
    data_reset(s);
    if (running) {
        reply(s, 426, "Connection closed; transfer aborted.");
        reply(s, 226, "ABOR successful.");
    } else {
        reply(s, 225, "No transfer to abort.");
    }
}
