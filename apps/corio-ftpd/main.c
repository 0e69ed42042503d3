/* corio-ftpd: an RFC 959 FTP server, one coroutine per session.
 *
 *   corio-ftpd --root DIR [--listen ADDR] [--port N] [--config FILE] ...
 *   corio-ftpd passwd NAME [ROOT [PERMS]]   (prints a users-file line)
 *
 * SIGTERM/SIGINT: stop accepting, let transfers finish for the grace period,
 * then close. SIGHUP: reload the config file, the flags and the users
 * without dropping a session. */
#include "ftpd.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Task stacks: a command handler holds two or three PATH_MAX buffers, and
 * ASan's red zones triple frame sizes; a frame larger than the guard page
 * could otherwise step over it into a neighbour's stack. */
#if defined(__SANITIZE_ADDRESS__)
#define STACK_SIZE (256 * 1024)
#else
#define STACK_SIZE (128 * 1024)
#endif

/* What the main task needs: argv to rebuild the config, signal flags. */
struct app {
    int argc;                     /* the command line, for reloads */
    char **argv;                  /* idem */
    struct ftpd_server srv;       /* the server */
    struct ftpd_config **retired; /* configs replaced by reloads */
    size_t n_retired;             /* entries in retired */
    volatile int term;            /* SIGTERM or SIGINT seen */
    volatile int hup;             /* SIGHUP seen */
    int status;                   /* exit status */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: corio-ftpd --root DIR [--listen ADDR] [--port N] "
            "[--config FILE] [options]\n"
            "       corio-ftpd passwd NAME [ROOT [PERMS]]\n\n"
            "Serves DIR over FTP (RFC 959, 2389, 2428, 3659) until SIGTERM.\n"
            "Every option is also a `key = value` line of the config file\n"
            "(underscores for dashes); flags override the file.\n\n"
            "  -c, --config FILE        read settings from FILE\n"
            "  -r DIR, -l ADDR, -p N    short for --root, --listen, --port\n"
            "  -h, --help               this text\n"
            "  -V, --version            the version\n");
    config_print_help();
}

static const char *short_key(const char *opt)
{
    static const char *map[][2] = {
        {"-c", "config"}, {"-r", "root"}, {"-l", "listen"}, {"-p", "port"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(opt, map[i][0]))
            return map[i][1];
    return NULL;
}

/* Applies argv; with config_only, only --config (loaded at once). */
static int apply_args(struct ftpd_config *c, int argc, char **argv,
                      bool config_only, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        char key[64];
        const char *value = NULL, *k = short_key(argv[i]);
        if (k) {
            snprintf(key, sizeof(key), "%s", k);
        } else if (!strncmp(argv[i], "--", 2) && argv[i][2]) {
            const char *eq = strchr(argv[i], '=');
            size_t n = eq ? (size_t)(eq - argv[i] - 2) : strlen(argv[i] + 2);
            snprintf(key, sizeof(key), "%.*s", (int)n, argv[i] + 2);
            value = eq ? eq + 1 : NULL;
        } else {
            snprintf(err, errlen, "unexpected argument '%s'", argv[i]);
            return -1;
        }
        if (!value && config_is_flag(key))
            value = "yes";
        if (!value && i + 1 >= argc) {
            snprintf(err, errlen, "%s needs a value", argv[i]);
            return -1;
        }
        if (!value)
            value = argv[++i];
        bool is_config = !strcmp(key, "config");
        if (is_config && config_only &&
            config_load_file(c, value, err, errlen) < 0)
            return -1;
        if (!is_config && !config_only &&
            config_set(c, key, value, err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* Builds a config from the file(s) named by --config, then the flags. */
static struct ftpd_config *build_config(int argc, char **argv, char *err,
                                        size_t errlen)
{
    struct ftpd_config *c = malloc(sizeof(*c));
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    config_init(c);
    if (apply_args(c, argc, argv, true, err, errlen) < 0 ||
        apply_args(c, argc, argv, false, err, errlen) < 0) {
        config_free(c);
        free(c);
        return NULL;
    }
    if (!c->root) {
        snprintf(err, errlen,
                 "--root DIR (or root = DIR in a config file) "
                 "is required: nothing is served by default");
        config_free(c);
        free(c);
        return NULL;
    }
    struct stat st;
    if (stat(c->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "root %s: %s", c->root,
                 errno ? strerror(errno) : "not a directory");
        config_free(c);
        free(c);
        return NULL;
    }
    return c;
}

static struct userdb *build_users(const struct ftpd_config *c, char *err,
                                  size_t errlen)
{
    struct userdb *db;
    int rc = userdb_load(&db, c->users_file, err, errlen);
    if (rc < 0)
        return NULL;
    for (size_t i = 0; i < c->n_users; i++) {
        char *spec = c->users[i], *colon = strchr(spec, ':');
        *colon = '\0';
        rc = userdb_add(db, spec, colon + 1, NULL, FTP_PERM_ALL);
        *colon = ':';
        if (rc < 0) {
            snprintf(err, errlen, "--user %.*s: %s", (int)(colon - spec), spec,
                     rc == -EEXIST ? "defined twice" : strerror(-rc));
            userdb_free(db);
            return NULL;
        }
    }
    if (c->anonymous &&
        (rc = userdb_set_anonymous(db, c->anon_root, c->anon_upload_dir)) < 0) {
        snprintf(err, errlen, "anonymous: %s", strerror(-rc));
        userdb_free(db);
        return NULL;
    }
    return db;
}

/* A reload, run on a pool thread: hashing --user passwords is slow. */
struct reload {
    struct app *app;         /* argv */
    struct ftpd_config *cfg; /* the new config, or NULL */
    struct userdb *users;    /* the new users, or NULL */
    char err[512];           /* why it failed */
};

static long reload_run(void *arg)
{
    struct reload *r = arg;
    r->cfg = build_config(r->app->argc, r->app->argv, r->err, sizeof(r->err));
    if (r->cfg && !(r->users = build_users(r->cfg, r->err, sizeof(r->err)))) {
        config_free(r->cfg);
        free(r->cfg);
        r->cfg = NULL;
    }
    return 0;
}

static void reload(struct app *app)
{
    struct ftpd_server *srv = &app->srv;
    struct reload *r = calloc(1, sizeof(*r));
    struct ftpd_config **ret =
        realloc(app->retired, (app->n_retired + 1) * sizeof(*ret));
    if (!r || !ret) {
        free(r);
        log_event(srv, NULL, "reload failed: out of memory");
        return;
    }
    app->retired = ret;
    r->app = app;
    if (cio_offload(CIO_OFFLOAD_FILE, reload_run, r, NULL, -1) < 0)
        return; /* shutting down: the thread still owns r */
    if (!r->cfg) {
        log_event(srv, NULL, "reload failed, keeping the old settings: %s",
                  r->err);
        free(r);
        return;
    }
    /* Sessions may hold the old config's strings across a wait: keep it. */
    app->retired[app->n_retired++] = srv->cfg;
    srv->cfg = r->cfg;
    userdb_free(srv->users);
    srv->users = r->users;
    char err[256];
    if (log_open(srv, err, sizeof(err)) < 0)
        fprintf(stderr, "corio-ftpd: %s\n", err);
    cio_hub_set_shrink_after(srv->cfg->shrink_after_ms);
    log_event(srv, NULL, "reloaded: %zu users%s", userdb_count(srv->users),
              srv->cfg->anonymous ? " and anonymous" : "");
    free(r);
}

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    struct app *app = data;
    if (signum == SIGHUP)
        app->hup = 1;
    else
        app->term = 1;
}

static void on_connection(int fd, void *data)
{
    cio_task_set_name(cio_self(), "ftpd-session");
    session_run(data, fd);
}

static void print_listening(int fd)
{
    ftpd_addr a;
    socklen_t len = sizeof(a);
    char host[64];
    getsockname(fd, &a.sa, &len);
    addr_to_str(&a, host, sizeof(host));
    int port =
        ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
    if (strchr(host, ':'))
        printf("listening on [%s]:%d\n", host, port);
    else
        printf("listening on %s:%d\n", host, port);
    fflush(stdout);
}

/* Graceful stop: idle sessions say 421 and leave at once; sessions with a
 * transfer leave when it ends; the grace period bounds the wait. */
static void shutdown_server(struct app *app, cio_server_t *server)
{
    struct ftpd_server *srv = &app->srv;
    srv->stopping = true;
    log_event(srv, NULL, "stopping: %d sessions, %lld ms grace",
              srv->n_sessions, (long long)srv->cfg->grace_ms);
    for (struct ftp_session *s = srv->sessions; s; s = s->next)
        if (!s->xfer)
            cio_interrupt(s->task);
    cio_server_stop(server, cio_deadline_in(srv->cfg->grace_ms));
    cio_server_free(server);
}

static void *main_task(void *arg)
{
    struct app *app = arg;
    struct ftpd_server *srv = &app->srv;
    cio_loop_t *loop = cio_hub_loop();
    cio_loop_signal(loop, SIGTERM, on_signal, app);
    cio_loop_signal(loop, SIGINT, on_signal, app);
    cio_loop_signal(loop, SIGHUP, on_signal, app);
    cio_hub_set_shrink_after(srv->cfg->shrink_after_ms);
    int lfd = cio_tcp_listen(srv->cfg->listen, (uint16_t)srv->cfg->port, 0);
    if (lfd < 0) {
        fprintf(stderr, "corio-ftpd: cannot listen on %s port %d: %s\n",
                srv->cfg->listen ? srv->cfg->listen : "*", srv->cfg->port,
                cio_strerror(lfd));
        app->status = 1;
        return NULL;
    }
    cio_server_t *server;
    int rc = cio_server_start(&server, lfd, on_connection, srv, 0);
    if (rc < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", cio_strerror(rc));
        cio_close(lfd);
        app->status = 1;
        return NULL;
    }
    print_listening(lfd);
    log_event(srv, NULL, "corio-ftpd %s serving %s", FTPD_VERSION,
              srv->cfg->root);
    while (!app->term) {
        cio_sleep(200);
        if (app->hup) {
            app->hup = 0;
            reload(app);
        }
    }
    shutdown_server(app, server);
    log_event(srv, NULL, "stopped");
    return NULL;
}

static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "passwd"))
        return auth_passwd_main(argc - 1, argv + 1);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
            printf("corio-ftpd %s (corio %d.%d.%d)\n", FTPD_VERSION,
                   CIO_VERSION_MAJOR, CIO_VERSION_MINOR, CIO_VERSION_PATCH);
            return 0;
        }
    }
    static struct app app;
    char err[512];
    app.argc = argc;
    app.argv = argv;
    if (!(app.srv.cfg = build_config(argc, argv, err, sizeof(err)))) {
        fprintf(stderr, "corio-ftpd: %s\n(see corio-ftpd --help)\n", err);
        return 2;
    }
    if (!(app.srv.users = build_users(app.srv.cfg, err, sizeof(err))) ||
        log_open(&app.srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", err);
        return 2;
    }
    if (userdb_count(app.srv.users) == 0 && !app.srv.cfg->anonymous)
        fprintf(stderr, "corio-ftpd: warning: no users and no --anonymous: "
                        "every login will fail\n");
    signal(SIGPIPE, SIG_IGN);
    umask((mode_t)app.srv.cfg->umask);
    raise_fd_limit();
    cio_run_opts opts = {.dump_on_sigquit = true, .stack_size = STACK_SIZE};
    int rc = cio_run_ex(&opts, main_task, &app, NULL);
    if (rc < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", cio_strerror(rc));
        app.status = 1;
    }
    log_close(&app.srv);
    userdb_free(app.srv.users);
    for (size_t i = 0; i < app.n_retired; i++) {
        config_free(app.retired[i]);
        free(app.retired[i]);
    }
    free(app.retired);
    config_free(app.srv.cfg);
    free(app.srv.cfg);
    return app.status;
}
