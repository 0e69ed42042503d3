/* The interactive shell of shell.h: the command table, reading and running
 * lines, and the commands that connect, browse and set options (transfers
 * are in shell_xfer.c). Lines come through lineedit.h: edited, with history
 * and completion, on a terminal; plain from a pipe. */
#include "shell.h"
#include "shell_cmd.h"

#include "complete.h"
#include "lineedit.h"
#include "listing.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_ARGS 64

/* Prints prompt (on a terminal) and reads a line; false at end of input. */
static bool read_line(shell *sh, const char *prompt, char *out, size_t outlen)
{
    return lineedit_read(sh->le, sh->interactive ? prompt : NULL, out, outlen);
}

/* Splits a line into words; "double" or 'single' quotes keep spaces. */
static int split_words(char *line, char **argv, int max)
{
    int argc = 0;
    char *r = line, *w = line;
    while (*r && argc < max) {
        while (isspace((unsigned char)*r))
            r++;
        if (!*r)
            break;
        argv[argc++] = w;
        char quote = 0;
        while (*r && (quote || !isspace((unsigned char)*r))) {
            if (!quote && (*r == '"' || *r == '\''))
                quote = *r++;
            else if (quote && *r == quote)
                quote = 0, r++;
            else
                *w++ = *r++;
        }
        if (*r)
            r++;
        *w++ = '\0';
    }
    return argc;
}

static void say(shell *sh)
{
    if (sh->c->reply[0])
        printf("%s\n", sh->c->reply);
}

int shell_fail_reply(shell *sh, int rc)
{
    if (rc == -EPROTO && sh->c->reply[0])
        printf("%s\n", sh->c->reply);
    else
        printf("%s\n", ftp_strerror(sh->c, rc));
    if (sh->c->fd < 0 && sh->connected) {
        printf("Connection closed.\n");
        sh->connected = sh->logged_in = false;
    }
    return -1;
}

static int simple(shell *sh, const char *verb, const char *arg);

/* ---- connecting ---- */

static int do_login(shell *sh)
{
    char err[512];
    if (site_resolve_login(&sh->site, sh->interactive, err, sizeof err) < 0) {
        printf("%s\n", err);
        return -1;
    }
    int rc = ftp_login(sh->c, sh->site.user, sh->site.pass);
    say(sh);
    if (rc < 0) {
        if (sh->c->fd < 0)
            sh->connected = false;
        printf("Login failed.\n");
        return -1;
    }
    sh->logged_in = true;
    ftp_binary(sh->c);
    return 0;
}

static int cmd_open(shell *sh, int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: open host [port]\n");
        return -1;
    }
    ftp_url u;
    char text[600], err[256];
    const char *t = argv[1];
    size_t colons = 0;
    for (const char *p = t; *p; p++)
        colons += *p == ':';
    if (strstr(t, "://"))
        snprintf(text, sizeof text, "%s", t);
    else if (colons > 1 && t[0] != '[')
        snprintf(text, sizeof text, "ftp://[%s]", t); /* bare IPv6 */
    else
        snprintf(text, sizeof text, "ftp://%s", t);
    if (url_parse(text, &u, err, sizeof err) < 0) {
        printf("%s: %s\n", t, err);
        return -1;
    }
    if (argc > 2)
        u.site.port = (uint16_t)atoi(argv[2]);
    if (sh->connected)
        ftp_quit(sh->c);
    sh->connected = sh->logged_in = false;
    sh->site = u.site;
    ftp_init(sh->c, sh->opts.timeout_ms, sh->opts.active, sh->opts.verbose);
    ftp_set_tls(sh->c, sh->opts.tls_ctx, xfer_tls_mode(&sh->site, &sh->opts));
    int rc = ftp_open(sh->c, sh->site.host, sh->site.port);
    if (rc < 0) {
        printf("ftp: connect to %s port %u: %s\n", sh->site.host, sh->site.port,
               ftp_strerror(sh->c, rc));
        return -1;
    }
    sh->connected = true;
    printf("Connected to %s.\n", sh->site.host);
    say(sh);
    if (!sh->site.have_user) {
        /* ~/.netrc may know this host: the classic auto-login */
        ftp_site probe = sh->site;
        if (site_resolve_login(&probe, false, err, sizeof err) == 0 &&
            strcmp(probe.user, "anonymous") != 0)
            sh->site = probe;
    }
    if (!sh->site.have_user && sh->interactive) {
        char name[128], prompt[300];
        snprintf(prompt, sizeof prompt, "Name (%s): ", sh->site.host);
        if (!read_line(sh, prompt, name, sizeof name))
            return -1;
        if (name[0]) {
            snprintf(sh->site.user, sizeof sh->site.user, "%s", name);
            sh->site.have_user = true;
        }
    }
    if (!sh->site.have_user && !sh->interactive)
        return 0; /* a script logs in with `user` */
    rc = do_login(sh);
    if (rc == 0 && u.path[0]) /* ftp://host/dir: start there */
        rc = simple(sh, "CWD", u.path);
    return rc;
}

static int cmd_user(shell *sh, int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: user name [password]\n");
        return -1;
    }
    if (!sh->connected) {
        printf("Not connected.\n");
        return -1;
    }
    snprintf(sh->site.user, sizeof sh->site.user, "%s", argv[1]);
    sh->site.have_user = true;
    sh->site.have_pass = argc > 2;
    snprintf(sh->site.pass, sizeof sh->site.pass, "%s",
             argc > 2 ? argv[2] : "");
    return do_login(sh);
}

static int cmd_close(shell *sh, int argc, char **argv)
{
    if (sh->connected) {
        ftp_quit(sh->c);
        say(sh);
    }
    sh->connected = sh->logged_in = false;
    return 0;
}

static int cmd_bye(shell *sh, int argc, char **argv)
{
    cmd_close(sh, argc, argv);
    sh->quit = true;
    return 0;
}

/* ---- browsing ---- */

/* ls [-t|-S|-U] [-r] [path] */
static int cmd_ls(shell *sh, int argc, char **argv)
{
    listing_order order = LISTING_BY_NAME;
    bool reverse = false;
    const char *path = "";
    for (int i = 1; i < argc; i++) {
        int bad = 0;
        if (argv[i][0] != '-' || !argv[i][1])
            path = argv[i];
        else if ((bad = listing_flags(argv[i] + 1, &order, &reverse))) {
            printf("ls: unknown flag -%c (use -t, -S, -U, -r)\n", bad);
            return -1;
        }
    }
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = ftp_fetch_listing(sh->c, path, true, &text, &len, &is_mlsd);
    if (rc < 0)
        return shell_fail_reply(sh, rc);
    listing_sort_text(&text, &len, order, reverse);
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

/* Sends "verb arg" (or the verb alone when arg is NULL) and shows the
 * reply; 0 on a 2xx reply. */
static int simple(shell *sh, const char *verb, const char *arg)
{
    int code =
        arg ? ftp_cmd(sh->c, "%s %s", verb, arg) : ftp_cmd(sh->c, "%s", verb);
    if (code < 0)
        return shell_fail_reply(sh, code);
    say(sh);
    return code / 100 == 2 ? 0 : -1;
}

static int cmd_cd(shell *sh, int argc, char **argv)
{
    if (argc < 2) {
        printf("usage: cd remote-directory\n");
        return -1;
    }
    return simple(sh, "CWD", argv[1]);
}

static int cmd_cdup(shell *sh, int argc, char **argv)
{
    return simple(sh, "CDUP", NULL);
}

static int cmd_pwd(shell *sh, int argc, char **argv)
{
    char dir[4096];
    int rc = ftp_pwd(sh->c, dir, sizeof dir);
    if (rc < 0)
        return shell_fail_reply(sh, rc);
    say(sh);
    return 0;
}

static int one_arg(shell *sh, int argc, char **argv, const char *verb,
                   const char *what)
{
    if (argc < 2) {
        printf("usage: %s %s\n", argv[0], what);
        return -1;
    }
    return simple(sh, verb, argv[1]);
}

static int cmd_mkdir(shell *sh, int argc, char **argv)
{
    return one_arg(sh, argc, argv, "MKD", "directory-name");
}

static int cmd_rmdir(shell *sh, int argc, char **argv)
{
    return one_arg(sh, argc, argv, "RMD", "directory-name");
}

static int cmd_delete(shell *sh, int argc, char **argv)
{
    return one_arg(sh, argc, argv, "DELE", "remote-file");
}

static int cmd_size(shell *sh, int argc, char **argv)
{
    return one_arg(sh, argc, argv, "SIZE", "remote-file");
}

static int cmd_rename(shell *sh, int argc, char **argv)
{
    if (argc < 3) {
        printf("usage: rename from to\n");
        return -1;
    }
    int code = ftp_cmd(sh->c, "RNFR %s", argv[1]);
    if (code < 0)
        return shell_fail_reply(sh, code);
    say(sh);
    if (code != 350)
        return -1;
    return simple(sh, "RNTO", argv[2]);
}

static int cmd_lcd(shell *sh, int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("HOME");
    if (!dir || chdir(dir) < 0) {
        printf("local: %s: %s\n", dir ? dir : "(no HOME)", strerror(errno));
        return -1;
    }
    char cwd[4096];
    printf("Local directory now %s\n", getcwd(cwd, sizeof cwd) ? cwd : dir);
    return 0;
}

/* ---- settings ---- */

static int cmd_passive(shell *sh, int argc, char **argv)
{
    sh->opts.active = !sh->opts.active;
    sh->c->active = sh->opts.active;
    printf("Passive mode %s.\n", sh->opts.active ? "off" : "on");
    return 0;
}

static int cmd_verbose(shell *sh, int argc, char **argv)
{
    sh->opts.verbose = !sh->opts.verbose;
    sh->c->verbose = sh->opts.verbose;
    printf("Verbose mode %s.\n", sh->opts.verbose ? "on" : "off");
    return 0;
}

static int cmd_binary(shell *sh, int argc, char **argv)
{
    if (argc > 1 && strcasecmp(argv[1], "binary") && strcasecmp(argv[1], "i"))
        printf("Only binary transfers are supported; using binary.\n");
    else if (!strcasecmp(argv[0], "ascii"))
        printf("Only binary transfers are supported; using binary.\n");
    printf("Using binary mode to transfer files.\n");
    return 0;
}

static int cmd_noop(shell *sh, int argc, char **argv)
{
    printf("(%s has no effect here)\n", argv[0]);
    return 0;
}

static int cmd_status(shell *sh, int argc, char **argv)
{
    if (sh->connected)
        printf("Connected to %s port %u%s%s.\n", sh->site.host, sh->site.port,
               sh->logged_in ? " as " : "", sh->logged_in ? sh->site.user : "");
    else
        printf("Not connected.\n");
    printf("Mode: %s; transfers at once: %d; verbose: %s.\n",
           sh->opts.active ? "active" : "passive", sh->opts.jobs,
           sh->opts.verbose ? "on" : "off");
    return 0;
}

static int cmd_help(shell *sh, int argc, char **argv);

static const shell_cmd commands[] = {
    {"open", cmd_open, false, 0, "open host [port]: connect (and log in)"},
    {"user", cmd_user, false, 0, "user name [password]: log in"},
    {"ls", cmd_ls, true, 'r',
     "ls [-t|-S|-U] [-r] [path]: list, by name (time, size, as sent)"},
    {"dir", cmd_ls, true, 'r', "dir [-t|-S|-U] [-r] [path]: same as ls"},
    {"cd", cmd_cd, true, 'r', "cd dir: change the remote directory"},
    {"cdup", cmd_cdup, true, 0, "cdup: go to the parent directory"},
    {"pwd", cmd_pwd, true, 0, "pwd: show the remote directory"},
    {"lcd", cmd_lcd, false, 'l', "lcd [dir]: change the local directory"},
    {"get", shell_get, true, 'r',
     "get [-c] remote [local]: download (-c: continue)"},
    {"recv", shell_get, true, 'r', "recv [-c] remote [local]: same as get"},
    {"put", shell_put, true, 'l',
     "put [-c] local [remote]: upload (-c: continue)"},
    {"send", shell_put, true, 'l', "send [-c] local [remote]: same as put"},
    {"mget", shell_mget, true, 'r',
     "mget [-c] pattern...: download matching files"},
    {"mput", shell_mput, true, 'l',
     "mput [-c] pattern...: upload matching files"},
    {"mkdir", cmd_mkdir, true, 'r', "mkdir dir: make a remote directory"},
    {"rmdir", cmd_rmdir, true, 'r', "rmdir dir: remove a remote directory"},
    {"delete", cmd_delete, true, 'r', "delete file: remove a remote file"},
    {"rm", cmd_delete, true, 'r', "rm file: same as delete"},
    {"rename", cmd_rename, true, 'r', "rename from to: rename a remote file"},
    {"size", cmd_size, true, 'r', "size file: show a remote file's size"},
    {"passive", cmd_passive, false, 0, "passive: toggle passive mode"},
    {"verbose", cmd_verbose, false, 0, "verbose: toggle showing the dialogue"},
    {"binary", cmd_binary, false, 0, "binary: binary mode (always on)"},
    {"ascii", cmd_binary, false, 0, "ascii: (binary is always used)"},
    {"type", cmd_binary, false, 0, "type [binary]: binary mode"},
    {"prompt", cmd_noop, false, 0, "prompt: (mget/mput never ask)"},
    {"hash", cmd_noop, false, 0, "hash: (progress bars show instead)"},
    {"status", cmd_status, false, 0, "status: show the connection"},
    {"close", cmd_close, false, 0, "close: end the connection"},
    {"disconnect", cmd_close, false, 0, "disconnect: same as close"},
    {"bye", cmd_bye, false, 0, "bye: leave"},
    {"quit", cmd_bye, false, 0, "quit: leave"},
    {"exit", cmd_bye, false, 0, "exit: leave"},
    {"help", cmd_help, false, 'c', "help [command]: this list"},
    {"?", cmd_help, false, 'c', "?: same as help"},
};

#define NCOMMANDS (sizeof commands / sizeof *commands)

/* An exact name, else a unique prefix ("del" for delete); NULL when
 * unknown, *ambiguous set when several match. */
static const shell_cmd *find_command(const char *word, bool *ambiguous)
{
    const shell_cmd *found = NULL;
    size_t len = strlen(word);
    *ambiguous = false;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!strcasecmp(commands[i].name, word))
            return &commands[i];
        if (!strncasecmp(commands[i].name, word, len)) {
            if (found && found->fn != commands[i].fn)
                *ambiguous = true;
            found = &commands[i];
        }
    }
    return *ambiguous ? NULL : found;
}

static int cmd_help(shell *sh, int argc, char **argv)
{
    bool ambiguous;
    for (int i = 1; i < argc; i++) {
        const shell_cmd *cmd = find_command(argv[i], &ambiguous);
        printf("%s\n", cmd ? cmd->help : "?Invalid help command");
    }
    if (argc < 2)
        for (size_t i = 0; i < NCOMMANDS; i++)
            printf("  %s\n", commands[i].help);
    return 0;
}

/* The completer of lineedit.h: command names for the first word, then
 * what the command takes (remote paths through a listing, local files). */
static char **complete(void *ctx, const char *line, int start, const char *word)
{
    shell *sh = ctx;
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    char first[64];
    size_t skip = strspn(line, " \t"), flen = strcspn(line + skip, " \t");
    if ((int)skip >= start || flen >= sizeof first)
        return complete_words(names, NCOMMANDS, word);
    snprintf(first, sizeof first, "%.*s", (int)flen, line + skip);
    bool ambiguous;
    const shell_cmd *cmd = find_command(first, &ambiguous);
    char kind = cmd ? cmd->args : 0;
    if (kind == 'c')
        return complete_words(names, NCOMMANDS, word);
    if (kind == 'l')
        return NULL;
    if (kind == 'r' && sh->logged_in)
        return complete_remote(sh->c, &sh->cache, word);
    return complete_words(names, 0, word); /* nothing to offer */
}

static void run_line(shell *sh, char *line)
{
    char *argv[MAX_ARGS];
    int argc = split_words(line, argv, MAX_ARGS);
    if (argc == 0)
        return;
    bool ambiguous;
    const shell_cmd *cmd = find_command(argv[0], &ambiguous);
    int rc;
    if (!cmd) {
        printf(ambiguous ? "?Ambiguous command.\n" : "?Invalid command.\n");
        rc = -1;
    } else if (cmd->needs_login && !sh->connected) {
        printf("Not connected.\n");
        rc = -1;
    } else {
        bool resume = sh->opts.resume;
        rc = cmd->fn(sh, argc, argv);
        sh->opts.resume = resume;
        complete_cache_clear(&sh->cache); /* the command may change it */
    }
    if (rc < 0)
        sh->failures++;
    fflush(stdout);
}

/* A line the history must not keep: "user name password", or a URL with
 * a password in it. */
static bool carries_password(const char *line)
{
    char copy[4096], *argv[3];
    snprintf(copy, sizeof copy, "%s", line);
    int argc = split_words(copy, argv, 3);
    if (argc == 3 && strlen(argv[0]) <= 4 &&
        !strncasecmp("user", argv[0], strlen(argv[0])))
        return true;
    const char *scheme = strstr(line, "://");
    if (!scheme)
        return false;
    const char *at = strchr(scheme + 3, '@');
    const char *colon = strchr(scheme + 3, ':');
    return at && colon && colon < at;
}

int shell_main(const char *target, const ftp_opts *o)
{
    shell sh = {0};
    sh.opts = *o;
    sh.opts.jobs = o->jobs;
    sh.interactive = isatty(STDIN_FILENO);
    sh.c = malloc(sizeof *sh.c);
    sh.le = lineedit_new(complete, &sh);
    char *line = malloc(4096);
    if (!sh.c || !line || !sh.le) {
        free(sh.c);
        free(line);
        lineedit_free(sh.le);
        return 1;
    }
    ftp_init(sh.c, o->timeout_ms, o->active, o->verbose);
    if (target) {
        char *argv[2] = {"open", (char *)target};
        if (cmd_open(&sh, 2, argv) < 0)
            sh.failures++;
        fflush(stdout);
    }
    while (!sh.quit && read_line(&sh, "ftp> ", line, 4096)) {
        if (!carries_password(line))
            lineedit_remember(sh.le, line);
        run_line(&sh, line);
    }
    if (sh.connected)
        ftp_quit(sh.c);
    memset(sh.site.pass, 0, sizeof sh.site.pass);
    complete_cache_clear(&sh.cache);
    lineedit_free(sh.le);
    free(sh.c);
    free(line);
    /* a person at a terminal saw each failure and went on; a script's
     * caller learns from the status that something failed */
    return sh.failures && !sh.interactive ? 1 : 0;
}
