/* libFuzzer target for corio-ftpd's command parser and session state
 * machine: each input is the byte stream a client sends on the control
 * connection. A real session runs on a loopback TCP connection inside
 * cio_hub_run; the input is written, the write side is shut, and the replies
 * are read until the server closes. Any crash, leak, hang or sanitizer
 * report is a finding. Built and run by tests/ftpd_fuzz.sh.
 *
 * The first input byte chooses a prelude: odd values log in first (as a
 * named user or anonymously) so that the fuzzer reaches the commands behind
 * the login at once. Password checks are replaced below by a table lookup:
 * crypt(3) would make every execution take tens of milliseconds. */
#include "../ftpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a users module without crypt ---- */

struct userdb {
    int unused; /* nothing to keep */
};

int userdb_check(const struct userdb *db, const char *name,
                 const char *password, struct ftp_user *out)
{
    memset(out, 0, sizeof(*out));
    if (!strcmp(name, "anonymous") || !strcmp(name, "ftp")) {
        out->anonymous = true;
        out->perms = FTP_PERM_LIST | FTP_PERM_READ;
        out->upload_dir = strdup("/incoming");
    } else if (!strcmp(name, "u") && !strcmp(password, "p")) {
        out->perms = FTP_PERM_ALL;
    } else {
        return -EACCES;
    }
    snprintf(out->name, sizeof(out->name), "%s", name);
    out->root = strdup("");
    return 0;
}

struct userdb *userdb_ref(struct userdb *db)
{
    return db;
}

void userdb_free(struct userdb *db)
{
    (void)db;
}

void ftp_user_release(struct ftp_user *u)
{
    free(u->root);
    free(u->upload_dir);
    u->root = u->upload_dir = NULL;
}

int ftp_user_allows(const struct ftp_user *u, unsigned perm, const char *vpath)
{
    if (u->anonymous && (perm == FTP_PERM_WRITE || perm == FTP_PERM_MKDIR))
        return u->upload_dir &&
               !strncmp(vpath, "/incoming/", strlen("/incoming/"));
    return (u->perms & perm) != 0;
}

/* ---- the harness ---- */

static struct userdb fuzz_db;
static struct ftpd_shared fuzz_shared = {.lock = PTHREAD_MUTEX_INITIALIZER};
static struct ftpd_config fuzz_cfg;
static char fuzz_root[4096]; /* FTPD_FUZZ_ROOT (made by the script) */

struct run {
    struct ftpd_server srv; /* a fresh server per input */
    const uint8_t *data;    /* the input */
    size_t size;            /* its length */
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

static const char *const preludes[] = {
    "USER u\r\nPASS p\r\n",
    "USER anonymous\r\nPASS x@y\r\n",
};

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
    cio_task_t *server_task;
    if (cio_task_spawn(&server_task, serve, &c) < 0) {
        cio_fd_close(c.fd);
        cio_fd_close(cfd);
        return NULL;
    }
    const uint8_t *data = r->data;
    size_t size = r->size;
    if (size && (data[0] & 1)) {
        const char *p = preludes[(data[0] >> 1) & 1];
        cio_fd_write_all(cfd, p, strlen(p), cio_deadline_in(1000));
    }
    if (size) {
        data++;
        size--;
    }
    cio_fd_write_all(cfd, data, size, cio_deadline_in(1000));
    shutdown(cfd, SHUT_WR);
    char buf[4096];
    int64_t deadline = cio_deadline_in(5000);
    while (cio_fd_read(cfd, buf, sizeof(buf), deadline) > 0)
        ;
    cio_fd_close(cfd);
    cio_task_kill(server_task);
    cio_task_join(server_task, -1);
    cio_task_free(server_task);
    return NULL;
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
    snprintf(path, sizeof(path), "%s/file.txt", fuzz_root);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("line one\nline two\n", f);
        fclose(f);
    }
    config_init(&fuzz_cfg);
    fuzz_cfg.root = strdup(fuzz_root);
    fuzz_cfg.anonymous = true;
    fuzz_cfg.quiet = true;
    fuzz_cfg.idle_timeout_ms = 2000;
    fuzz_cfg.data_timeout_ms = 20;
    fuzz_cfg.login_delay_ms = 0;
    fuzz_cfg.max_login_failures = 3;
    fuzz_cfg.ban_threshold = 0; /* no state carried from input to input */
    fuzz_cfg.fsync = FTPD_FSYNC_NONE;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct run r;
    memset(&r, 0, sizeof(r));
    r.srv.cfg = &fuzz_cfg;
    r.srv.users = &fuzz_db;
    r.srv.shared = &fuzz_shared;
    r.data = data;
    r.size = size;
    cio_hub_run(NULL, client, &r);
    server_roots_free(&r.srv);
    return 0;
}
