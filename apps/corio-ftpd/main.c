/* corio-ftpd: an RFC 959 FTP server, one coroutine per session.
 *
 *   corio-ftpd --root DIR [--listen ADDR] [--port N] [--config FILE] ...
 *   corio-ftpd passwd NAME [ROOT [PERMS]]   (prints a users-file line)
 *
 * SIGTERM/SIGINT: stop accepting, let transfers finish for the grace period,
 * then close. SIGHUP: reload the config file, the flags and the users
 * without dropping a session. */
#include "common/cli.h"
#include "ftpd.h"

#include <corio/workers.h>

#include <arpa/inet.h>
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

/* The group's limit after a stop: the longest grace the settings allow,
 * and a margin; the sessions' own watcher applies the configured one. */
#define GRACE_MAX_MS ((3600 + 10) * 1000LL)

/* What the main task needs: argv to rebuild the config, signal flags. */
struct app {
    int argc;                     /* the command line, for reloads */
    char **argv;                  /* idem */
    struct ftpd_shared shared;    /* limits shared by every worker */
    struct ftpd_server srv;       /* the server (workers copy it) */
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
            "(underscores for dashes); flags override the file.\n"
            "SIGHUP rereads both and applies every setting except those\n"
            "marked (restart).\n\n"
            "  -c, --config FILE        read settings from FILE\n"
            "  -r DIR, -l ADDR, -p N    short for --root, --listen, --port\n"
            "  -h, --help               this text\n"
            "  -V, --version            the version\n");
    config_print_help();
    ftps_print_help(out);
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
        if (!config_has_key(key)) {
            snprintf(err, errlen, "unknown option %s", argv[i]);
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
    if (c->workers == 0)
        c->workers = (int)cio_workers_cpus();
    if (!c->root) {
        snprintf(err, errlen,
                 "--root DIR (or root = DIR in a config file) "
                 "is required: nothing is served by default");
        config_free(c);
        free(c);
        return NULL;
    }
    struct in_addr a4;
    if (c->pasv_address && inet_pton(AF_INET, c->pasv_address, &a4) != 1) {
        snprintf(err, errlen,
                 "pasv_address: expected an IPv4 address, got "
                 "'%s'",
                 c->pasv_address);
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

/* A reload: the new settings, users and logs, built off the loop (hashing
 * --user passwords is slow), then swapped in. */
struct reload {
    struct app *app;         /* argv */
    struct ftpd_config *cfg; /* the new config, or NULL */
    struct userdb *users;    /* the new users */
    struct ftpd_log *log;    /* the new logs */
    char err[512];           /* why it failed */
};

static long reload_run(void *arg)
{
    struct reload *r = arg;
    r->cfg = build_config(r->app->argc, r->app->argv, r->err, sizeof(r->err));
    if (r->cfg &&
        (!(r->users = build_users(r->cfg, r->err, sizeof(r->err))) ||
         !(r->log = log_open(r->cfg, r->err, sizeof(r->err))) ||
         ftps_reload(&r->app->shared, r->cfg, r->err, sizeof(r->err)) < 0)) {
        if (r->log)
            log_close(r->log);
        userdb_free(r->users);
        config_free(r->cfg);
        free(r->cfg);
        r->cfg = NULL;
    }
    return 0;
}

/* Puts r's settings into srv, keeping the old config (sessions may hold its
 * strings across a wait) and handing back the old log to close. */
static struct ftpd_log *swap_in(struct app *app, struct ftpd_server *srv,
                                struct reload *r)
{
    struct ftpd_log *old = srv->log;
    app->retired[app->n_retired++] = srv->cfg;
    srv->cfg = r->cfg;
    umask((mode_t)r->cfg->umask); /* process-wide: every worker at once */
    userdb_free(srv->users);
    srv->users = userdb_ref(r->users);
    srv->log = r->log;
    return old;
}

static bool reload_prepare(struct app *app, struct reload **out)
{
    struct reload *r = calloc(1, sizeof(*r));
    struct ftpd_config **ret =
        realloc(app->retired, (app->n_retired + 1) * sizeof(*ret));
    if (ret)
        app->retired = ret;
    if (!r || !ret) {
        free(r);
        log_event(&app->srv, NULL, "reload failed: out of memory");
        return false;
    }
    r->app = app;
    *out = r;
    return true;
}

static void reload_done(struct app *app, struct reload *r)
{
    log_event(&app->srv, NULL, "reloaded: %zu users%s",
              userdb_count(app->srv.users),
              app->srv.cfg->anonymous ? " and anonymous" : "");
    userdb_free(r->users); /* each server took its own reference */
    free(r);
}

static void reload(struct app *app)
{
    struct reload *r;
    if (!reload_prepare(app, &r))
        return;
    if (cio_offload_run(NULL, CIO_OFFLOAD_FILE, reload_run, r, -1) < 0)
        return; /* shutting down: the thread still owns r */
    if (!r->cfg) {
        log_event(&app->srv, NULL,
                  "reload failed, keeping the old settings: %s", r->err);
        free(r);
        return;
    }
    log_close(swap_in(app, &app->srv, r));
    sessions_retime(&app->srv);
    cio_hub_set_shrink_after(app->srv.cfg->shrink_after_ms);
    cio_hub_set_conn_copied_stacks(!app->srv.cfg->own_session_stacks);
    reload_done(app, r);
}

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    struct app *app = data;
    if (signum == SIGHUP)
        app->hup = 1;
    else
        app->term = 1;
}

static void on_connection(int fd, const struct sockaddr *peer,
                          socklen_t peer_len, void *data)
{
    cio_task_set_name(cio_task_self(), "ftpd-session");
    session_run(data, fd);
}

static void print_listening(const char *host, int port)
{
    if (strchr(host, ':'))
        printf("listening on [%s]:%d\n", host, port);
    else
        printf("listening on %s:%d\n", host, port);
    fflush(stdout);
}

/* The one message for a listen that failed; a name that does not resolve
 * is said to be one. */
static void listen_failed(const struct ftpd_config *cfg, int err)
{
    fprintf(stderr, "corio-ftpd: cannot listen on %s port %d: %s\n",
            cfg->listen ? cfg->listen : "every address", cfg->port,
            cli_strerror(err, cfg->listen != NULL));
}

/* What a NULL --listen binds: IPv6 any (which takes IPv4 too), or IPv4
 * any where IPv6 is missing, as cio_tcp_listen does. */
static const char *any_address(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return "0.0.0.0";
    close(fd);
    return "::";
}

static void print_listening_fd(int fd)
{
    ftpd_addr a;
    socklen_t len = sizeof(a);
    char host[64];
    getsockname(fd, &a.sa, &len);
    addr_to_str(&a, host, sizeof(host));
    print_listening(host, ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port
                                                          : a.in6.sin6_port));
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
    /* An idle session keeps its frames only, not a stack page. */
    cio_hub_set_conn_copied_stacks(!srv->cfg->own_session_stacks);
    int lfd = cio_tcp_listen(srv->cfg->listen, (uint16_t)srv->cfg->port, 0,
                             cio_deadline_in(30000));
    if (lfd < 0) {
        listen_failed(srv->cfg, lfd);
        app->status = 1;
        return NULL;
    }
    cio_server_t *server;
    int rc = cio_server_start(&server, lfd, on_connection, srv, 0);
    if (rc < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", cio_strerror(rc));
        cio_fd_close(lfd);
        app->status = 1;
        return NULL;
    }
    print_listening_fd(lfd);
    ftps_print_listening(srv->shared);
    if ((rc = ftps_implicit_start(srv)) < 0)
        fprintf(stderr, "corio-ftpd: implicit FTPS: %s\n", cio_strerror(rc));
    log_event(srv, NULL, "corio-ftpd %s serving %s", FTPD_VERSION,
              srv->cfg->root);
    while (!app->term) {
        cio_task_sleep(200);
        if (app->hup) {
            app->hup = 0;
            reload(app);
        }
    }
    /* Idle sessions say 421 and leave at once; sessions with a transfer
     * leave when it ends, or are cut at the end of the grace. */
    int64_t grace_end = cio_deadline_in(srv->cfg->grace_ms);
    sessions_stop(srv, grace_end);
    ftps_implicit_stop(srv, grace_end);
    cio_server_stop(server, grace_end);
    cio_server_free(server);
    server_roots_free(srv);
    log_event(srv, NULL, "stopped");
    /* The loop's signal watches end with cio_hub_run: a late second SIGTERM
     * must not kill the process on its way out. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    return NULL;
}

/* ---- --workers N: a server per worker thread, limits shared ---- */

static _Thread_local struct ftpd_server *tls_srv; /* this worker's server */

/* The group's own grace is the longest a reload may set (GRACE_MAX_MS);
 * the watcher ends the sessions at the grace of the settings in force. */
static void *stop_watcher(void *arg)
{
    struct ftpd_server *srv = arg;
    int rc = cio_workers_wait_stop(-1);
    /* Killed (the worker ends otherwise): end the sessions all the same,
     * before the server is freed. */
    sessions_stop(srv, rc < 0 ? 0 : cio_deadline_in(srv->cfg->grace_ms));
    return NULL;
}

static void *worker_main(void *arg)
{
    struct app *app = arg;
    struct ftpd_server *srv = calloc(1, sizeof(*srv));
    cio_task_t *watcher = NULL;
    if (!srv)
        return NULL;
    srv->cfg = app->srv.cfg;
    srv->users = userdb_ref(app->srv.users);
    srv->log = app->srv.log;
    srv->shared = &app->shared;
    tls_srv = srv;
    cio_hub_set_shrink_after(srv->cfg->shrink_after_ms);
    /* An idle session keeps its frames only, not a stack page. */
    cio_hub_set_conn_copied_stacks(!srv->cfg->own_session_stacks);
    /* One worker (the first to get here) serves implicit FTPS too. */
    if (ftps_implicit_start(srv) < 0)
        fprintf(stderr, "corio-ftpd: implicit FTPS listener failed\n");
    if (cio_task_spawn(&watcher, stop_watcher, srv) == 0) {
        int rc = cio_workers_serve(on_connection, srv, 0);
        if (rc < 0)
            fprintf(stderr, "corio-ftpd: worker %d: %s\n", cio_workers_index(),
                    cio_strerror(rc));
        /* The sessions outlive the server's tasks (an idle one has no
         * task): the watcher ends them. */
        if (rc < 0)
            cio_task_kill(watcher);
        cio_task_join(watcher, -1);
        cio_task_free(watcher);
    }
    ftps_implicit_stop(srv, 0);
    tls_srv = NULL;
    server_roots_free(srv);
    userdb_free(srv->users);
    free(srv);
    return NULL;
}

static void *worker_update(void *arg)
{
    struct reload *r = arg;
    struct ftpd_server *srv = tls_srv;
    if (srv) {
        srv->cfg = r->cfg;
        userdb_free(srv->users);
        srv->users = userdb_ref(r->users);
        srv->log = r->log;
        sessions_retime(srv);
        cio_hub_set_shrink_after(srv->cfg->shrink_after_ms);
        cio_hub_set_conn_copied_stacks(!srv->cfg->own_session_stacks);
    }
    return NULL;
}

/* On the main thread: builds the new settings, gives them to every worker
 * (a task on each), then retires the old ones. */
static void reload_workers(struct app *app, cio_workers_t *g)
{
    struct reload *r;
    if (!reload_prepare(app, &r))
        return;
    reload_run(r);
    if (!r->cfg) {
        log_event(&app->srv, NULL,
                  "reload failed, keeping the old settings: %s", r->err);
        free(r);
        return;
    }
    for (unsigned i = 0; i < cio_workers_count(g); i++) {
        cio_remote_t *rt;
        if (cio_workers_spawn(g, &rt, i, worker_update, r) == 0) {
            cio_remote_join(rt, -1);
            cio_remote_free(rt);
        }
    }
    log_close(swap_in(app, &app->srv, r));
    reload_done(app, r);
}

static int run_workers(struct app *app, const cio_hub_opts_t *run)
{
    const struct ftpd_config *cfg = app->srv.cfg;
    cio_workers_opts_t wo = {.threads = (unsigned)cfg->workers,
                             .stop_grace_ms = GRACE_MAX_MS,
                             .run = run};
    cio_workers_t *g;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Every thread started from here on inherits the mask; the signals
     * are taken with sigwait below. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = cio_workers_new(&g, &wo);
    if (rc < 0)
        return rc;
    int port = cio_workers_listen(g, cfg->listen, (uint16_t)cfg->port, 0);
    if (port < 0) {
        listen_failed(cfg, port);
        cio_workers_free(g);
        return 1; /* reported */
    }
    if ((rc = cio_workers_start(g, worker_main, app)) < 0) {
        cio_workers_free(g);
        return rc;
    }
    print_listening(cfg->listen ? cfg->listen : any_address(), port);
    ftps_print_listening(&app->shared);
    log_event(&app->srv, NULL, "corio-ftpd %s serving %s with %d workers",
              FTPD_VERSION, cfg->root, cfg->workers);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        reload_workers(app, g);
    }
    cio_workers_stop(g);
    rc = cio_workers_wait(g);
    cio_workers_free(g);
    log_event(&app->srv, NULL, "stopped");
    return rc;
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
    pthread_mutex_init(&app.shared.lock, NULL);
    pthread_mutex_init(&app.shared.hashes.lock, NULL);
    pthread_cond_init(&app.shared.hashes.cv, NULL);
    app.srv.shared = &app.shared;
    if (!(app.srv.cfg = build_config(argc, argv, err, sizeof(err)))) {
        fprintf(stderr, "corio-ftpd: %s\n(see corio-ftpd --help)\n", err);
        return 2;
    }
    if (!(app.srv.users = build_users(app.srv.cfg, err, sizeof(err))) ||
        !(app.srv.log = log_open(app.srv.cfg, err, sizeof(err)))) {
        fprintf(stderr, "corio-ftpd: %s\n", err);
        return 2;
    }
    userdb_warn_roots(app.srv.users);
    if (ftps_setup(&app.shared, app.srv.cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", err);
        return 2;
    }
    if (userdb_count(app.srv.users) == 0 && !app.srv.cfg->anonymous)
        fprintf(stderr, "corio-ftpd: warning: no users and no --anonymous: "
                        "every login will fail\n");
    signal(SIGPIPE, SIG_IGN);
    umask((mode_t)app.srv.cfg->umask);
    /* Leftovers of a server that was killed: the users' own roots are
     * swept when first opened (server_root_get). */
    partial_swept_init(&app.shared.swept,
                       (app.srv.cfg->resume_life_ms + 999) / 1000);
    partial_sweep_start(&app.shared.swept, app.srv.cfg->root);
    if (app.srv.cfg->anon_root)
        partial_sweep_start(&app.shared.swept, app.srv.cfg->anon_root);
    raise_fd_limit();
    cio_hub_opts_t opts = {.dump_on_sigquit = true, .stack_size = STACK_SIZE};
    int rc = app.srv.cfg->workers > 1
                 ? run_workers(&app, &opts)
                 : cio_hub_run_ex(&opts, NULL, main_task, &app);
    if (rc < 0) {
        fprintf(stderr, "corio-ftpd: %s\n", cio_strerror(rc));
        app.status = 1;
    } else if (rc > 0) {
        app.status = 1; /* reported where it happened */
    }
    log_close(app.srv.log);
    userdb_free(app.srv.users);
    for (size_t i = 0; i < app.n_retired; i++) {
        config_free(app.retired[i]);
        free(app.retired[i]);
    }
    free(app.retired);
    config_free(app.srv.cfg);
    free(app.srv.cfg);
    defender_free(&app.shared);
    partial_swept_free(&app.shared.swept);
    ftps_free(&app.shared);
    pthread_mutex_destroy(&app.shared.lock);
    return app.status;
}
