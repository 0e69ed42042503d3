/* The command table, the verbs about the connection itself (SYST, NOOP,
 * HELP, FEAT, OPTS, TYPE, MODE, STRU, ALLO, STAT, SITE), and the path and
 * permission checks the file verbs start with. */
#include "commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "listing.h"

static void cmd_syst(struct ftp_session *s, char *arg)
{
    reply(s, 215, "UNIX Type: L8");
}

static void cmd_noop(struct ftp_session *s, char *arg)
{
    reply(s, 200, "NOOP ok.");
}

static void cmd_help(struct ftp_session *s, char *arg)
{
    commands_help(s, arg);
}

/* The MLSx facts as FEAT and OPTS MLST list them: "name;" each, with a
 * '*' after the name of each selected fact when star is set. */
static void mlst_facts(const struct ftp_session *s, bool star, char *out,
                       size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < LISTING_FACTS; i++) {
        bool on = !(s->mlst_hide & (1u << i));
        if (!star && !on)
            continue;
        n += (size_t)snprintf(out + n, len - n, "%s%s;", listing_fact_names[i],
                              star && on ? "*" : "");
    }
}

static void cmd_feat(struct ftp_session *s, char *arg)
{
    char text[600], facts[128];
    const char *tls = ftps_feat(s);
    mlst_facts(s, true, facts, sizeof(facts));
    int n = snprintf(text, sizeof(text),
                     "211-Features:\r\n"
                     " EPRT\r\n EPSV\r\n MDTM\r\n MFMT\r\n"
                     " MLST %s\r\n"
                     " REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n%s%s"
                     "211 End\r\n",
                     facts, hash_available() ? " HASH SHA-256*\r\n" : "", tls);
    reply_raw(s, text, (size_t)n);
}

/* OPTS MLST fact;fact;...: selects the facts MLST and MLSD send (unknown
 * names are ignored, none at all selects none), RFC 3659 section 7.9. */
static void opts_mlst(struct ftp_session *s, const char *list)
{
    unsigned hide = (1u << LISTING_FACTS) - 1;
    while (*list == ' ')
        list++;
    while (*list) {
        size_t n = strcspn(list, ";");
        for (int i = 0; i < LISTING_FACTS; i++)
            if (strlen(listing_fact_names[i]) == n &&
                !strncasecmp(list, listing_fact_names[i], n))
                hide &= ~(1u << i);
        list += n + (list[n] == ';');
    }
    s->mlst_hide = hide;
    char facts[128];
    mlst_facts(s, false, facts, sizeof(facts));
    reply(s, 200, "MLST OPTS %s", facts);
}

static void cmd_opts(struct ftp_session *s, char *arg)
{
    if (!strcasecmp(arg, "UTF8 ON") || !strcasecmp(arg, "UTF8")) {
        reply(s, 200, "Always in UTF8 mode.");
    } else if (!strncasecmp(arg, "MLST ", 5) || !strcasecmp(arg, "MLST")) {
        opts_mlst(s, arg + 4);
    } else if (!strcasecmp(arg, "HASH") ||
               (!strcasecmp(arg, "HASH SHA-256") && hash_available())) {
        reply(s, 200, "SHA-256");
    } else if (!strncasecmp(arg, "HASH ", 5)) {
        reply(s, 501, "Unknown algorithm; SHA-256 is supported.");
    } else {
        reply(s, 501, "Option not understood.");
    }
}

static void cmd_type(struct ftp_session *s, char *arg)
{
    char t = (char)toupper((unsigned char)arg[0]);
    const char *rest = arg + 1;
    if (t == 'I' && !*rest) {
        s->ascii = false;
        reply(s, 200, "Switching to Binary mode.");
    } else if (t == 'A' && (!*rest || !strcasecmp(rest, " N"))) {
        s->ascii = true;
        reply(s, 200, "Switching to ASCII mode.");
    } else if (t == 'L' && !strcmp(rest, " 8")) {
        s->ascii = false;
        reply(s, 200, "Switching to Binary mode.");
    } else if (t == 'A' || t == 'E' || t == 'L') {
        reply(s, 504, "Type not supported with that parameter.");
    } else {
        reply(s, 501, "Unknown type.");
    }
}

static void cmd_mode(struct ftp_session *s, char *arg)
{
    if (!strcasecmp(arg, "S"))
        reply(s, 200, "Mode set to S.");
    else if (strlen(arg) == 1 && strchr("BCbc", arg[0]))
        reply(s, 504, "Only stream mode is supported.");
    else
        reply(s, 501, "Unknown mode.");
}

static void cmd_stru(struct ftp_session *s, char *arg)
{
    if (!strcasecmp(arg, "F"))
        reply(s, 200, "Structure set to F.");
    else if (strlen(arg) == 1 && strchr("RPrp", arg[0]))
        reply(s, 504, "Only file structure is supported.");
    else
        reply(s, 501, "Unknown structure.");
}

static void cmd_allo(struct ftp_session *s, char *arg)
{
    reply(s, 202, "ALLO not needed.");
}

static void cmd_stat(struct ftp_session *s, char *arg)
{
    if (s->xfer) {
        const char *what = "";
        off_t done = transfer_progress(s, &what);
        reply(s, 213, "Status: %s, %lld bytes so far.", what, (long long)done);
        return;
    }
    if (*arg) {
        if (s->state != FTP_LOGGED_IN) {
            reply(s, 530, "Please login with USER and PASS.");
            return;
        }
        commands_stat_path(s, arg);
        return;
    }
    char text[1024];
    int n = snprintf(
        text, sizeof(text),
        "211-corio-ftpd status:\r\n"
        " Connected to %s\r\n"
        " %s%s\r\n"
        " TYPE: %s, STRUcture: File, MODE: Stream\r\n"
        " Data connection: %s\r\n"
        " %llu bytes received, %llu bytes sent\r\n"
        "211 End of status\r\n",
        s->peer_str,
        s->state == FTP_LOGGED_IN ? "Logged in as " : "Not logged in",
        s->state == FTP_LOGGED_IN ? s->user->name : "",
        s->ascii ? "ASCII" : "BINARY",
        s->pasv_fd >= 0 ? "passive listener open"
        : s->port_set   ? "active target set"
                        : "none",
        (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
    reply_raw(s, text, (size_t)n);
}

static void cmd_site(struct ftp_session *s, char *arg)
{
    if (!strncasecmp(arg, "CHMOD ", 6)) {
        commands_site_chmod(s, arg + 6);
    } else if (!strcasecmp(arg, "HELP")) {
        static const char help[] = "214-SITE commands:\r\n"
                                   " CHMOD MODE PATH\r\n HELP\r\n"
                                   "214 End\r\n";
        reply_raw(s, help, sizeof(help) - 1);
    } else {
        reply(s, 504, "SITE command not understood.");
    }
}

/* Sorted by name for bsearch. */
static const struct ftp_command table[] = {
    {"ABOR", cmd_abor, CMD_NOARG, "ABOR"},
    {"ACCT", cmd_acct, CMD_ARG, "ACCT <account>"},
    {"ALLO", cmd_allo, CMD_AUTH, "ALLO <bytes>"},
    {"APPE", cmd_appe, CMD_AUTH | CMD_ARG, "APPE <path>"},
    {"CDUP", cmd_cdup, CMD_AUTH | CMD_NOARG, "CDUP"},
    {"CWD", cmd_cwd, CMD_AUTH, "CWD <path>"},
    {"DELE", cmd_dele, CMD_AUTH | CMD_ARG, "DELE <path>"},
    {"EPRT", cmd_eprt, CMD_AUTH | CMD_ARG, "EPRT |proto|addr|port|"},
    {"EPSV", cmd_epsv, CMD_AUTH, "EPSV [1|2|ALL]"},
    {"FEAT", cmd_feat, CMD_NOARG, "FEAT"},
    {"HASH", cmd_hash, CMD_AUTH | CMD_ARG, "HASH <path>"},
    {"HELP", cmd_help, 0, "HELP [command]"},
    {"LIST", cmd_list, CMD_AUTH, "LIST [path]"},
    {"MDTM", cmd_mdtm, CMD_AUTH | CMD_ARG, "MDTM <path>"},
    {"MFMT", cmd_mfmt, CMD_AUTH | CMD_ARG, "MFMT <YYYYMMDDHHMMSS> <path>"},
    {"MKD", cmd_mkd, CMD_AUTH | CMD_ARG, "MKD <path>"},
    {"MLSD", cmd_mlsd, CMD_AUTH, "MLSD [path]"},
    {"MLST", cmd_mlst, CMD_AUTH, "MLST [path]"},
    {"MODE", cmd_mode, CMD_ARG, "MODE S"},
    {"NLST", cmd_nlst, CMD_AUTH, "NLST [path]"},
    {"NOOP", cmd_noop, 0, "NOOP"},
    {"OPTS", cmd_opts, CMD_ARG, "OPTS <option>"},
    {"PASS", cmd_pass, 0, "PASS <password>"},
    {"PASV", cmd_pasv, CMD_AUTH | CMD_NOARG, "PASV"},
    {"PORT", cmd_port, CMD_AUTH | CMD_ARG, "PORT h1,h2,h3,h4,p1,p2"},
    {"PWD", cmd_pwd, CMD_AUTH | CMD_NOARG, "PWD"},
    {"QUIT", cmd_quit, 0, "QUIT"},
    {"REIN", cmd_rein, CMD_NOARG, "REIN"},
    {"REST", cmd_rest, CMD_AUTH | CMD_ARG, "REST <offset>"},
    {"RETR", cmd_retr, CMD_AUTH | CMD_ARG, "RETR <path>"},
    {"RMD", cmd_rmd, CMD_AUTH | CMD_ARG, "RMD <path>"},
    {"RNFR", cmd_rnfr, CMD_AUTH | CMD_ARG, "RNFR <path>"},
    {"RNTO", cmd_rnto, CMD_AUTH | CMD_ARG, "RNTO <path>"},
    {"SITE", cmd_site, CMD_AUTH | CMD_ARG, "SITE CHMOD <mode> <path>"},
    {"SIZE", cmd_size, CMD_AUTH | CMD_ARG, "SIZE <path>"},
    {"STAT", cmd_stat, 0, "STAT [path]"},
    {"STOR", cmd_stor, CMD_AUTH | CMD_ARG, "STOR <path>"},
    {"STOU", cmd_stou, CMD_AUTH, "STOU [path]"},
    {"STRU", cmd_stru, CMD_ARG, "STRU F"},
    {"SYST", cmd_syst, CMD_NOARG, "SYST"},
    {"TYPE", cmd_type, CMD_ARG, "TYPE A|I"},
    {"USER", cmd_user, CMD_ARG, "USER <name>"},
    {"XCUP", cmd_cdup, CMD_AUTH | CMD_NOARG, "XCUP"},
    {"XCWD", cmd_cwd, CMD_AUTH, "XCWD <path>"},
    {"XMKD", cmd_mkd, CMD_AUTH | CMD_ARG, "XMKD <path>"},
    {"XPWD", cmd_pwd, CMD_AUTH | CMD_NOARG, "XPWD"},
    {"XRMD", cmd_rmd, CMD_AUTH | CMD_ARG, "XRMD <path>"},
};

#define N_COMMANDS (sizeof(table) / sizeof(table[0]))

static int by_name(const void *key, const void *entry)
{
    return strcmp(key, ((const struct ftp_command *)entry)->name);
}

const struct ftp_command *commands_find(const char *name)
{
    return bsearch(name, table, N_COMMANDS, sizeof(table[0]), by_name);
}

void commands_help(struct ftp_session *s, const char *arg)
{
    if (*arg) {
        char verb[8];
        size_t i;
        for (i = 0; arg[i] && i < sizeof(verb) - 1; i++)
            verb[i] = (char)toupper((unsigned char)arg[i]);
        verb[i] = '\0';
        const struct ftp_command *c = arg[i] ? NULL : commands_find(verb);
        if (c)
            reply(s, 214, "Syntax: %s", c->help);
        else
            reply(s, 502, "Unknown command %s.", arg);
        return;
    }
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof(text),
                                "214-The following commands are recognized:");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (i % 8 == 0)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n");
        n += (size_t)snprintf(text + n, sizeof(text) - n, " %-4s",
                              table[i].name);
    }
    n += (size_t)snprintf(text + n, sizeof(text) - n, "\r\n214 Help OK.\r\n");
    reply_raw(s, text, n);
}

int session_path(struct ftp_session *s, const char *arg, char *out)
{
    int rc = vfs_resolve(session_cwd(s), arg, out, VFS_PATH_MAX);
    if (rc == -ENAMETOOLONG)
        reply(s, 550, "File name too long.");
    else if (rc < 0)
        reply(s, 501, "Invalid file name.");
    if (rc < 0)
        return -1;
    if (partial_reserved(out)) {
        reply(s, 553, "%s: name reserved for the server's own files.", out);
        return -1;
    }
    return 0;
}

bool session_may(struct ftp_session *s, unsigned perm, const char *vpath)
{
    if (s->user && ftp_user_allows(s->user, perm, vpath))
        return true;
    reply(s, 550, "Permission denied.");
    return false;
}

bool session_target(struct ftp_session *s, const char *arg, unsigned perm,
                    char *out)
{
    return session_path(s, arg, out) == 0 && session_may(s, perm, out);
}
