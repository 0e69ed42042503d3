/* corio-ftp: the command line. Parses options and URLs, settles logins
 * (which may prompt) before the loop starts, then runs the command as a
 * corio task: get, put, ls, mirror, or the interactive shell. */
#include "lineedit.h"
#include "listing.h"
#include "mirror.h"
#include "shell.h"
#include "xfer.h"

#include <corio.h>

#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Everything the command task needs. */
typedef struct app {
    ftp_opts opts;      /* shared by every transfer */
    const char *cmd;    /* get, put, ls, mirror, or NULL for the shell */
    char **args;        /* the command's arguments */
    int nargs;          /* how many */
    const char *outdir; /* -o */
    bool reverse;       /* mirror -R */
    listing_order sort; /* --sort: ls order */
    bool sort_reverse;  /* --reverse: ls order flipped */
    ftp_url *urls;      /* parsed URL arguments (get: all; others: one) */
    int nurls;          /* how many */
    ftp_site **sites;   /* distinct logins, urls point into these */
    int nsites;         /* how many */
    const ftp_site **url_site; /* the distinct site of each URL */
} app;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: corio-ftp [options] get URL... [-o DIR]\n"
            "       corio-ftp [options] put FILE... URL\n"
            "       corio-ftp [options] ls URL\n"
            "       corio-ftp [options] mirror URL DIR\n"
            "       corio-ftp [options] mirror -R DIR URL\n"
            "       corio-ftp [options] [HOST[:PORT] | URL]   (interactive)\n"
            "URL: ftp://[user[:password]@]host[:port]/path ([::1] for IPv6)\n"
            "     ftps:// (implicit TLS, port 990), ftpes:// (AUTH TLS)\n"
            "options:\n"
            "  -j N           transfers at once (default 4)\n"
            "  -c             continue partial files (REST)\n"
            "  -o DIR         download into DIR (default .)\n"
            "  -R             mirror: upload DIR to URL\n"
            "  --active       active mode (PORT/EPRT) instead of passive\n"
            "  --timeout SEC  give up a network wait after SEC seconds "
            "(default 60, 0 = never)\n"
            "  --sort KEY     ls order: name (default), time (newest "
            "first), size (largest\n"
            "                 first), none (as sent); KEY,reverse flips it\n"
            "  --tls          AUTH TLS on ftp:// URLs too (as ftpes://)\n"
            "  --cafile FILE  trust the CAs in FILE (default: the system "
            "store)\n"
            "  --insecure     do not verify the server's certificate\n"
            "  -q             no progress display\n"
            "  -v             show the control dialogue\n"
            "Passwords: the URL, $CORIO_FTP_PASSWORD, ~/.netrc, or a "
            "prompt on a terminal.\n");
    char history[4096];
    lineedit_history_path(history, sizeof history);
    fprintf(out,
            "Shell: line editing and completion: %s; history: %s\n"
            "Exit status: 0 if all went well, 1 if anything failed (an "
            "interactive shell: 0),\n2 for a usage error.\n",
            lineedit_backend(),
            strcmp(lineedit_backend(), "none")
                ? history[0] ? history : "(no HOME)"
                : "none");
}

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    xfer_cleanup_temp_files();
    interrupted = sig;
    static const char msg[] = "\ncorio-ftp: interrupted\n";
    if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
        /* exiting anyway */
    }
    _exit(128 + sig);
}

/* The site of u, shared with earlier URLs of the same server and login. */
static const ftp_site *intern_site(app *a, const ftp_url *u)
{
    for (int i = 0; i < a->nsites; i++) {
        const ftp_site *s = a->sites[i];
        if (s->port == u->site.port && s->tls == u->site.tls &&
            !strcasecmp(s->host, u->site.host) &&
            s->have_user == u->site.have_user &&
            (!u->site.have_user || !strcmp(s->user, u->site.user)) &&
            (!u->site.have_pass ||
             (s->have_pass && !strcmp(s->pass, u->site.pass))))
            return s;
    }
    ftp_site *s = malloc(sizeof *s);
    if (!s)
        return NULL;
    *s = u->site;
    a->sites[a->nsites++] = s;
    return s;
}

/* Parses the URL arguments and settles every login before the loop runs,
 * so a password prompt never stalls transfers. */
static int prepare_urls(app *a, char **texts, int n)
{
    a->urls = calloc((size_t)n, sizeof *a->urls);
    a->sites = calloc((size_t)n, sizeof *a->sites);
    a->url_site = calloc((size_t)n, sizeof *a->url_site);
    if (!a->urls || !a->sites || !a->url_site)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        char err[256];
        if (url_parse(texts[i], &a->urls[i], err, sizeof err) < 0) {
            fprintf(stderr, "corio-ftp: %s: %s\n", texts[i], err);
            return -EINVAL;
        }
        a->nurls++;
        const ftp_site *s = intern_site(a, &a->urls[i]);
        if (!s)
            return -ENOMEM;
        if (!s->have_pass && s == a->sites[a->nsites - 1] &&
            site_resolve_login(a->sites[a->nsites - 1], true, err, sizeof err) <
                0) {
            fprintf(stderr, "corio-ftp: %s\n", err);
            return -EACCES;
        }
        a->url_site[i] = s;
    }
    return 0;
}

static bool has_glob(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* A lister connection per command, opened on first use. */
typedef struct lister {
    ftp_conn conn;        /* the connection */
    const ftp_site *site; /* logged in to, NULL when closed */
} lister;

static ftp_conn *lister_get(lister *l, const ftp_site *site, const ftp_opts *o,
                            progress_t *pg)
{
    if (l->site && site_same(l->site, site) && ftp_alive(&l->conn))
        return &l->conn;
    ftp_quit(&l->conn);
    l->site = NULL;
    char err[1024], url[4600];
    if (xfer_connect(&l->conn, site, o, err, sizeof err) < 0) {
        url_format(site, "", url, sizeof url);
        progress_error(pg, "corio-ftp: %s: %s", url, err);
        return NULL;
    }
    l->site = site;
    return &l->conn;
}

/* get URL with a glob in its last part: one job per matching file. */
static int queue_glob(app *a, lister *ls, xfer_engine *e, int i,
                      const char *outdir)
{
    const ftp_url *u = &a->urls[i];
    ftp_conn *c = lister_get(ls, a->url_site[i], &a->opts, e->progress);
    if (!c)
        return -1;
    const char *pattern = base_name(u->path);
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(pattern - u->path), u->path);
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = ftp_fetch_listing(c, dir, false, &text, &len, &is_mlsd);
    char url[4600];
    url_format(a->url_site[i], u->path, url, sizeof url);
    if (rc < 0) {
        progress_error(e->progress, "corio-ftp: get %s: %s", url,
                       ftp_strerror(c, rc));
        return -1;
    }
    ftp_listing l = {0};
    rc = listing_parse(text, len, is_mlsd, &l);
    free(text);
    int matched = 0;
    for (size_t k = 0; rc == 0 && k < l.n; k++) {
        if (l.v[k].type == 'd' || fnmatch(pattern, l.v[k].name, 0) != 0)
            continue;
        char *remote = path_join(dir, l.v[k].name);
        char *local = path_join(outdir, l.v[k].name);
        xfer_job *job = remote && local
                            ? xfer_job_new(XFER_GET, a->url_site[i], remote,
                                           local, l.v[k].size, -1)
                            : NULL;
        free(remote);
        free(local);
        if (job && xfer_engine_submit(e, job) == 0)
            matched++;
    }
    listing_free(&l);
    if (matched == 0) {
        progress_error(e->progress, "corio-ftp: get %s: no file matches", url);
        return -1;
    }
    return 0;
}

static int cmd_get(app *a, xfer_engine *e, lister *ls)
{
    const char *outdir = a->outdir ? a->outdir : ".";
    int problems = 0;
    if (a->outdir) {
        int rc = local_mkdirs(a->outdir);
        if (rc < 0) {
            progress_error(e->progress, "corio-ftp: %s: %s", a->outdir,
                           cio_strerror(rc));
            return 1;
        }
    }
    for (int i = 0; i < a->nurls; i++) {
        const ftp_url *u = &a->urls[i];
        char url[4600];
        url_format(a->url_site[i], u->path, url, sizeof url);
        if (u->is_dir) {
            progress_error(e->progress,
                           "corio-ftp: get %s: a directory (use mirror)", url);
            problems++;
        } else if (has_glob(base_name(u->path))) {
            problems += queue_glob(a, ls, e, i, outdir) < 0;
        } else {
            char *local = path_join(outdir, base_name(u->path));
            xfer_job *job = local ? xfer_job_new(XFER_GET, a->url_site[i],
                                                 u->path, local, -1, -1)
                                  : NULL;
            free(local);
            if (!job || xfer_engine_submit(e, job) < 0)
                problems++;
        }
    }
    return problems;
}

/* put FILE... URL: into the directory URL names, or as the file URL names
 * when there is one FILE and URL is not an existing directory. */
static int cmd_put(app *a, xfer_engine *e, lister *ls)
{
    const ftp_url *u = &a->urls[0];
    const ftp_site *site = a->url_site[0];
    int nfiles = a->nargs - 1, problems = 0;
    bool into_dir = u->is_dir || nfiles > 1;
    if (!into_dir) {
        ftp_conn *c = lister_get(ls, site, &a->opts, e->progress);
        if (!c)
            return nfiles;
        into_dir = ftp_cwd(c, u->path) == 0;
    }
    for (int i = 0; i < nfiles; i++) {
        const char *file = a->args[i];
        char *remote =
            into_dir ? path_join(u->path, base_name(file)) : strdup(u->path);
        xfer_job *job =
            remote ? xfer_job_new(XFER_PUT, site, remote, file, -1, -1) : NULL;
        free(remote);
        if (!job || xfer_engine_submit(e, job) < 0)
            problems++;
    }
    return problems;
}

static int cmd_ls(app *a, progress_t *pg, lister *ls)
{
    ftp_conn *c = lister_get(ls, a->url_site[0], &a->opts, pg);
    if (!c)
        return 1;
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = ftp_fetch_listing(c, a->urls[0].path, true, &text, &len, &is_mlsd);
    if (rc < 0) {
        char url[4600];
        url_format(a->url_site[0], a->urls[0].path, url, sizeof url);
        progress_error(pg, "corio-ftp: ls %s: %s", url, ftp_strerror(c, rc));
        return 1;
    }
    listing_sort_text(&text, &len, a->sort, a->sort_reverse);
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    free(text);
    return 0;
}

static int cmd_mirror(app *a, xfer_engine *e, lister *ls)
{
    const ftp_site *site = a->url_site[0];
    ftp_conn *c = lister_get(ls, site, &a->opts, e->progress);
    if (!c)
        return 1;
    const char *dir = a->reverse ? a->args[0] : a->args[1];
    return a->reverse ? mirror_put(c, site, dir, a->urls[0].path, e)
                      : mirror_get(c, site, a->urls[0].path, dir, e);
}

static void *app_task(void *arg)
{
    app *a = arg;
    if (!a->cmd)
        return (void *)(intptr_t)shell_main(a->nargs ? a->args[0] : NULL,
                                            &a->opts);
    progress_t *pg = progress_new(progress_auto_mode(a->opts.quiet));
    if (!pg)
        return (void *)(intptr_t)1;
    lister ls;
    ftp_init(&ls.conn, a->opts.timeout_ms, a->opts.active, a->opts.verbose);
    ls.site = NULL;
    int problems = 0;
    if (!strcmp(a->cmd, "ls")) {
        problems = cmd_ls(a, pg, &ls);
    } else {
        xfer_engine e;
        progress_start(pg);
        if (xfer_engine_start(&e, &a->opts, pg) < 0) {
            problems = 1;
        } else {
            if (!strcmp(a->cmd, "get"))
                problems = cmd_get(a, &e, &ls);
            else if (!strcmp(a->cmd, "put"))
                problems = cmd_put(a, &e, &ls);
            else
                problems = cmd_mirror(a, &e, &ls);
            ftp_quit(&ls.conn); /* idle from here on */
            problems += xfer_engine_finish(&e);
        }
        progress_finish(pg);
    }
    ftp_quit(&ls.conn);
    progress_free(pg);
    return (void *)(intptr_t)(problems ? 1 : 0);
}

/* Checks the argument count for cmd and which arguments are URLs. */
static int check_args(app *a, char **urls_out[], int *nurls)
{
    int n = a->nargs;
    if (!strcmp(a->cmd, "get") && n >= 1) {
        *urls_out = a->args;
        *nurls = n;
    } else if (!strcmp(a->cmd, "put") && n >= 2) {
        *urls_out = a->args + n - 1;
        *nurls = 1;
    } else if (!strcmp(a->cmd, "ls") && n == 1) {
        *urls_out = a->args;
        *nurls = 1;
    } else if (!strcmp(a->cmd, "mirror") && n == 2) {
        *urls_out = a->reverse ? a->args + 1 : a->args;
        *nurls = 1;
    } else {
        fprintf(stderr, "corio-ftp: %s: wrong number of arguments\n", a->cmd);
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

/* --sort KEY[,reverse] */
static int parse_sort(app *a, const char *arg)
{
    static const char *keys[] = {"name", "time", "size", "none"};
    static const listing_order orders[] = {LISTING_BY_NAME, LISTING_BY_TIME,
                                           LISTING_BY_SIZE, LISTING_AS_SENT};
    size_t klen = strcspn(arg, ",");
    for (size_t k = 0; k < 4; k++) {
        if (strlen(keys[k]) != klen || strncmp(arg, keys[k], klen))
            continue;
        a->sort = orders[k];
        a->sort_reverse = !strcmp(arg + klen, ",reverse");
        return arg[klen] && !a->sort_reverse ? -EINVAL : 0;
    }
    return -EINVAL;
}

static int parse_options(app *a, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"active", no_argument, NULL, 'A'},
        {"timeout", required_argument, NULL, 'T'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"continue", no_argument, NULL, 'c'},
        {"jobs", required_argument, NULL, 'j'},
        {"output", required_argument, NULL, 'o'},
        {"sort", required_argument, NULL, 'S'},
        {"reverse", no_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"tls", no_argument, NULL, 'L'},
        {"cafile", required_argument, NULL, 'F'},
        {"insecure", no_argument, NULL, 'k'},
        {NULL, 0, NULL, 0}};
    int ch;
    char *end;
    while ((ch = getopt_long(argc, argv, "j:co:RqvhA", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j':
            a->opts.jobs = (int)strtol(optarg, &end, 10);
            if (*end || a->opts.jobs < 1 || a->opts.jobs > 256) {
                fprintf(stderr, "corio-ftp: -j wants 1..256\n");
                return -EINVAL;
            }
            break;
        case 'c':
            a->opts.resume = true;
            break;
        case 'o':
            a->outdir = optarg;
            break;
        case 'R':
            a->reverse = true;
            break;
        case 'S':
            if (parse_sort(a, optarg) < 0) {
                fprintf(stderr, "corio-ftp: --sort wants name, time, size or "
                                "none, then ,reverse if wanted\n");
                return -EINVAL;
            }
            break;
        case 'q':
            a->opts.quiet = true;
            break;
        case 'v':
            a->opts.verbose = true;
            break;
        case 'A':
            a->opts.active = true;
            break;
        case 'T': {
            double secs = strtod(optarg, &end);
            if (*end || secs < 0) {
                fprintf(stderr, "corio-ftp: bad --timeout\n");
                return -EINVAL;
            }
            a->opts.timeout_ms = secs == 0 ? -1 : (int64_t)(secs * 1000);
            break;
        }
        case 'L':
            a->opts.tls = true;
            break;
        case 'F':
            a->opts.cafile = optarg;
            break;
        case 'k':
            a->opts.insecure = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("corio-ftp (corio %d.%d.%d)\n", CIO_VERSION_MAJOR,
                   CIO_VERSION_MINOR, CIO_VERSION_PATCH);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    return 0;
}

/* The TLS context, when something may use it: --tls, an ftps:// or
 * ftpes:// URL, or the shell (which may open one later). */
static int tls_setup(app *a)
{
    bool need = a->opts.tls || !a->cmd;
    for (int i = 0; i < a->nurls; i++)
        need |= a->urls[i].site.tls != FTP_TLS_NONE;
    if (!need)
        return 0;
    char err[300];
    int rc = ftps_ctx_new(&a->opts.tls_ctx, a->opts.cafile, a->opts.insecure,
                          err, sizeof err);
    if (rc < 0 && a->cmd) {
        fprintf(stderr, "corio-ftp: %s\n", err);
        return rc;
    }
    return 0; /* the shell goes on without FTPS */
}

static void app_free(app *a)
{
    for (int i = 0; i < a->nsites; i++) {
        memset(a->sites[i]->pass, 0, sizeof a->sites[i]->pass);
        free(a->sites[i]);
    }
    free(a->sites);
    free(a->url_site);
    free(a->urls);
}

int main(int argc, char **argv)
{
    app a = {0};
    a.opts.jobs = 4;
    a.opts.timeout_ms = 60000;
    if (parse_options(&a, argc, argv) < 0)
        return 2;
    a.args = argv + optind;
    a.nargs = argc - optind;
    static const char *cmds[] = {"get", "put", "ls", "mirror"};
    for (size_t i = 0; a.nargs > 0 && i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(a.args[0], cmds[i]))
            a.cmd = cmds[i];
    if (a.cmd) {
        a.args++;
        a.nargs--;
        char **urls;
        int nurls;
        if (check_args(&a, &urls, &nurls) < 0)
            return 2;
        if (prepare_urls(&a, urls, nurls) < 0) {
            app_free(&a);
            return 2;
        }
    } else if (a.nargs > 1) {
        fprintf(stderr, "corio-ftp: unknown command '%s'\n", a.args[0]);
        usage(stderr);
        return 2;
    }
    if (tls_setup(&a) < 0) {
        app_free(&a);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    void *result = NULL;
    /* the shell runs libedit (and completion inside it) in its task */
    cio_hub_opts_t ro = {.stack_size = a.cmd ? 0 : 256u * 1024u};
    int rc = cio_hub_run_ex(&ro, &result, app_task, &a);
    ftps_ctx_free(a.opts.tls_ctx);
    app_free(&a);
    if (rc < 0) {
        fprintf(stderr, "corio-ftp: %s\n", cio_strerror(rc));
        return 1;
    }
    return (int)(intptr_t)result;
}
