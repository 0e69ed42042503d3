/* libFuzzer target for corio-ftpd's command parser, session state
 * machine, users module and data path: each input is the byte stream a
 * client sends on the control connection. A real session runs on a
 * loopback TCP connection inside cio_hub_run; the input is written while a
 * reader task takes the replies and, like a client, opens the data
 * connection that each PASV or EPSV reply offers (sending a few bytes for
 * an upload, reading to the end for a download or listing), so LIST, RETR,
 * STOR, APPE and HASH run for real. Once the server has taken every
 * command and no transfer runs, the write side is shut and the replies are
 * read until the server closes. Any crash, leak, hang or sanitizer report is a
 * finding. Built and run by tests/ftpd_fuzz.sh (`make fuzz`).
 *
 * The first input byte chooses a prelude: odd values log in first (as a
 * named user or anonymously) so that the fuzzer reaches the commands behind
 * the login at once. 0xA5 instead makes the rest of the input a users file
 * for auth.c's parser. Users are checked by the real auth.c against a file
 * of cheap sha512-crypt hashes (1000 rounds), so that a login costs
 * milliseconds, not the tens that the server's default hash takes. */
#include "../ftpd.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the harness ---- */

static struct userdb *fuzz_db;
static struct ftpd_shared fuzz_shared = {.lock = PTHREAD_MUTEX_INITIALIZER};
static struct ftpd_config fuzz_cfg;
static char fuzz_root[4096];  /* FTPD_FUZZ_ROOT (made by the script) */
static char fuzz_users[4200]; /* a users file next to it */

static bool trace; /* FTPD_FUZZ_TRACE=1: print replies as they come */

enum { MAX_DATA = 8 };

struct run {
    struct ftpd_server srv; /* a fresh server per input */
    const uint8_t *data;    /* the input */
    size_t size;            /* its length */
    int ctl;                /* the client's end of the control connection */
    int64_t start;          /* when the session started */
    bool closed;            /* the server closed the control connection */
    cio_task_t *data_tasks[MAX_DATA]; /* data connections opened */
    int ndata;
};

struct conn {
    struct ftpd_server *srv; /* the server */
    int fd;                  /* accepted control connection */
};

static void *serve(void *arg)
{
    struct conn *c = arg;
    session_run(c->srv, c->fd);
    return NULL;
}

/* A data connection as a client opens it: a few bytes for an upload, then
 * everything the server sends until it closes. */
static void *data_conn(void *arg)
{
    int port = (int)(intptr_t)arg;
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(500));
    if (fd < 0)
        return NULL;
    static const char up[] = "uploaded\r\nline two\r\n";
    cio_fd_write_all(fd, up, sizeof(up) - 1, cio_deadline_in(500));
    shutdown(fd, SHUT_WR);
    char buf[4096];
    int64_t dl = cio_deadline_in(2000);
    while (cio_fd_read(fd, buf, sizeof(buf), dl) > 0)
        ;
    cio_fd_close(fd);
    return NULL;
}

/* The port a 227 or 229 reply offers, or 0. */
static int offered_port(const char *line)
{
    unsigned h[4], p1, p2, port;
    const char *paren = strchr(line, '(');
    if (!paren)
        return 0;
    if (!strncmp(line, "227 ", 4) &&
        sscanf(paren, "(%u,%u,%u,%u,%u,%u)", &h[0], &h[1], &h[2], &h[3], &p1,
               &p2) == 6 &&
        p1 < 256 && p2 < 256)
        return (int)(p1 * 256 + p2);
    if (!strncmp(line, "229 ", 4) && sscanf(paren, "(|||%u|)", &port) == 1 &&
        port < 65536)
        return (int)port;
    return 0;
}

/* Reads replies until the server closes; opens the offered data
 * connections. */
static void *reader(void *arg)
{
    struct run *r = arg;
    char buf[4096], line[512];
    size_t ll = 0;
    for (;;) {
        ssize_t n =
            cio_fd_read(r->ctl, buf, sizeof(buf), cio_deadline_in(8000));
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (ll < sizeof(line) - 1)
                    line[ll++] = buf[i];
                continue;
            }
            line[ll] = '\0';
            ll = 0;
            if (trace)
                fprintf(stderr, "%6lld ms  %s\n",
                        (long long)(cio_hub_now() - r->start), line);
            int port = offered_port(line);
            if (port > 0 && r->ndata < MAX_DATA &&
                cio_task_spawn(&r->data_tasks[r->ndata], data_conn,
                               (void *)(intptr_t)port) == 0)
                r->ndata++;
        }
    }
    r->closed = true;
    if (trace)
        fprintf(stderr, "%6lld ms  (closed)\n",
                (long long)(cio_hub_now() - r->start));
    return NULL;
}

static const char *const preludes[] = {
    "USER u\r\nPASS p\r\n",
    "USER anonymous\r\nPASS x@y\r\n",
};

/* True once the server has taken every whole command line it was sent
 * (none waits in the socket or the session's buffer) and no transfer runs:
 * then the end of the input can no longer cut one short. */
static bool server_done(struct run *r, int sfd)
{
    int queued = 0;
    if (ioctl(sfd, FIONREAD, &queued) < 0 || queued > 0)
        return false;
    for (struct ftp_session *s = r->srv.sessions; s; s = s->next)
        if ((s->xfer && !cio_task_done(s->xfer_task)) ||
            (s->inlen && memchr(s->inbuf, '\n', s->inlen)))
            return false;
    return true;
}

static void talk(struct run *r, int sfd)
{
    const uint8_t *data = r->data;
    size_t size = r->size;
    if (size && (data[0] & 1)) {
        const char *p = preludes[(data[0] >> 1) & 1];
        cio_fd_write_all(r->ctl, p, strlen(p), cio_deadline_in(1000));
    }
    if (size) {
        data++;
        size--;
    }
    cio_fd_write_all(r->ctl, data, size, cio_deadline_in(2000));
    int64_t end = cio_deadline_in(3000);
    while (!r->closed && cio_hub_now() < end && !server_done(r, sfd))
        cio_task_sleep(1);
    if (trace)
        fprintf(stderr, "%6lld ms  (end of input)\n",
                (long long)(cio_hub_now() - r->start));
    shutdown(r->ctl, SHUT_WR);
}

static void *client(void *arg)
{
    struct run *r = arg;
    int lfd = cio_tcp_listen("127.0.0.1", 0, 8, -1);
    if (lfd < 0)
        return NULL;
    int port = cio_sock_port(lfd);
    int cfd = cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(1000));
    struct conn c = {.srv = &r->srv, .fd = -1};
    if (cfd >= 0)
        c.fd = cio_sock_accept(lfd, NULL, NULL, cio_deadline_in(1000));
    cio_fd_close(lfd);
    if (cfd < 0 || c.fd < 0) {
        if (cfd >= 0)
            cio_fd_close(cfd);
        return NULL;
    }
    cio_task_t *server_task, *reader_task;
    if (cio_task_spawn(&server_task, serve, &c) < 0) {
        cio_fd_close(c.fd);
        cio_fd_close(cfd);
        return NULL;
    }
    r->ctl = cfd;
    r->start = cio_hub_now();
    if (cio_task_spawn(&reader_task, reader, r) == 0) {
        talk(r, c.fd);
        cio_task_join(reader_task, cio_deadline_in(8000));
        cio_task_kill(reader_task);
        cio_task_join(reader_task, -1);
        cio_task_free(reader_task);
    }
    for (int i = 0; i < r->ndata; i++) {
        cio_task_kill(r->data_tasks[i]);
        cio_task_join(r->data_tasks[i], -1);
        cio_task_free(r->data_tasks[i]);
    }
    cio_fd_close(cfd);
    cio_task_kill(server_task);
    cio_task_join(server_task, -1);
    cio_task_free(server_task);
    /* A session waiting without a task outlives server_task. */
    sessions_stop(&r->srv, cio_deadline_in(2000));
    return NULL;
}

/* The rest of the input as a users file: loaded, and a user checked. */
static void users_file(const uint8_t *data, size_t size)
{
    char path[sizeof(fuzz_users) + 8];
    snprintf(path, sizeof(path), "%s.in", fuzz_users);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fwrite(data, 1, size, f);
    fclose(f);
    struct userdb *db;
    char err[256];
    if (userdb_load(&db, path, err, sizeof(err)) == 0) {
        struct ftp_user u;
        if (userdb_check(db, "u", "p", &u) == 0) {
            ftp_user_allows(&u, FTP_PERM_WRITE, "/incoming/x");
            ftp_user_release(&u);
        }
        userdb_free(db);
    }
}

/* A users file with cheap hashes: u (all rights), r (list and read in
 * a sub-root), x (disabled); every password is "p". */
static void make_users(void)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    struct crypt_data cd = {0};
    const char *h = NULL;
    if (crypt_gensalt_rn("$6$", 1000, NULL, 0, salt, sizeof(salt)))
        h = crypt_rn("p", salt, &cd, sizeof(cd));
    if (!h || h[0] == '*') {
        fprintf(stderr, "crypt cannot make a sha512-crypt hash\n");
        abort();
    }
    snprintf(fuzz_users, sizeof(fuzz_users), "%s.users", fuzz_root);
    FILE *f = fopen(fuzz_users, "w");
    if (!f)
        abort();
    fprintf(f, "# fuzz users\nu:%s::*\nr:%s:%s/sub:lr\nx:!::*\n", h, h,
            fuzz_root);
    fclose(f);
    char err[256];
    if (userdb_load(&fuzz_db, fuzz_users, err, sizeof(err)) < 0 ||
        userdb_set_anonymous(fuzz_db, "", "/incoming") < 0) {
        fprintf(stderr, "users: %s\n", err);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *root = getenv("FTPD_FUZZ_ROOT");
    if (!root || strlen(root) > sizeof(fuzz_root) - 64) {
        fprintf(stderr, "set FTPD_FUZZ_ROOT to an empty directory\n");
        abort();
    }
    strcpy(fuzz_root, root);
    char path[sizeof(fuzz_root) + 32];
    snprintf(path, sizeof(path), "%s/incoming", fuzz_root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/sub", fuzz_root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/file.txt", fuzz_root);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("line one\nline two\n", f);
        fclose(f);
    }
    make_users();
    trace = getenv("FTPD_FUZZ_TRACE") != NULL;
    config_init(&fuzz_cfg);
    fuzz_cfg.root = strdup(fuzz_root);
    fuzz_cfg.anonymous = true;
    fuzz_cfg.quiet = true;
    fuzz_cfg.idle_timeout_ms = 2000;
    fuzz_cfg.data_timeout_ms = 200;
    fuzz_cfg.login_delay_ms = 0;
    fuzz_cfg.max_login_failures = 3;
    fuzz_cfg.ban_threshold = 0; /* no state carried from input to input */
    fuzz_cfg.fsync = FTPD_FSYNC_NONE;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && data[0] == 0xA5) {
        users_file(data + 1, size - 1);
        return 0;
    }
    static struct run r;
    memset(&r, 0, sizeof(r));
    r.srv.cfg = &fuzz_cfg;
    r.srv.users = fuzz_db;
    r.srv.shared = &fuzz_shared;
    r.data = data;
    r.size = size;
    cio_hub_run(NULL, client, &r);
    server_roots_free(&r.srv);
    return 0;
}
