/* Login and the session's lifetime: USER, PASS, ACCT, REIN, QUIT. The
 * password check runs crypt(3) on the offload pool: it takes tens of
 * milliseconds and must not stall every other session. */
#include "commands.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One password check, shared by the session task and a pool thread; the
 * last of the two to let go frees it (the task may be killed while the
 * thread still hashes). */
struct login_check {
    atomic_int refs;      /* 2 at start: the task and the thread */
    struct userdb *db;    /* a reference of its own */
    char *name;           /* USER argument */
    char *password;       /* PASS argument, wiped before free */
    struct ftp_user user; /* filled on success */
    int rc;               /* userdb_check's result */
};

static void check_put(struct login_check *c)
{
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c->name);
    ftp_user_release(&c->user);
    userdb_free(c->db);
    free(c);
}

static long check_run(void *arg)
{
    struct login_check *c = arg;
    c->rc = userdb_check(c->db, c->name, c->password, &c->user);
    long rc = c->rc;
    check_put(c);
    return rc;
}

static struct login_check *check_new(struct ftp_session *s, const char *pass)
{
    struct login_check *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = strdup(s->username);
    c->password = strdup(pass);
    if (!c->name || !c->password) {
        free(c->name);
        free(c->password);
        free(c);
        return NULL;
    }
    atomic_init(&c->refs, 2);
    c->db = userdb_ref(s->srv->users);
    return c;
}

static bool is_anonymous_name(const struct ftp_session *s)
{
    return !strcasecmp(s->username, "anonymous") ||
           !strcasecmp(s->username, "ftp");
}

void cmd_user(struct ftp_session *s, char *arg)
{
    if (s->state == FTP_LOGGED_IN)
        session_logout(s); /* a new USER starts over, as REIN does */
    free(s->username);
    if (!(s->username = strdup(arg))) {
        reply(s, 451, "Out of memory.");
        return;
    }
    s->state = FTP_NEED_PASS;
    if (is_anonymous_name(s))
        reply(s, 331, "Anonymous login: send your e-mail as password.");
    else
        reply(s, 331, "Please specify the password.");
}

/* Opens the user's root and enters it (the working directory is the
 * root); 0 or -errno. */
static int enter_root(struct ftp_session *s, const struct ftp_user *u)
{
    const char *root = u->root && *u->root ? u->root : s->srv->cfg->root;
    int rc = server_root_get(s->srv, root, &s->root);
    if (rc < 0) {
        log_event(s->srv, s, "cannot open root %s: %s", root, cio_strerror(rc));
        return rc;
    }
    s->vfs = &s->root->vfs;
    return 0;
}

/* A failed login counts for the connection (never reset on it, not even
 * by a login that works), for the address and for the account named. */
static void login_failed(struct ftp_session *s)
{
    s->failures++;
    log_event(s->srv, s, "login failed for '%s' (%d)", s->username,
              s->failures);
    unsigned banned =
        defender_failed(s, is_anonymous_name(s) ? NULL : s->username);
    free(s->username);
    s->username = NULL;
    s->state = FTP_NEED_USER;
    cio_task_sleep(s->srv->cfg->login_delay_ms);
    if (banned & DEFENDER_ADDRESS) {
        reply(s, 421, "Too many failed logins from your address; closing.");
        s->quit = true;
    } else if (s->failures >= s->srv->cfg->max_login_failures) {
        reply(s, 421, "Too many failed logins; closing.");
        s->quit = true;
    } else {
        reply(s, 530, "Login incorrect.");
    }
}

/* A banned address is closed; a login to a banned account fails as a wrong
 * password would, without checking it (the reply reveals nothing). */
static bool login_banned(struct ftp_session *s, char *pass)
{
    int64_t left = defender_address_banned(s->srv, s);
    if (left > 0) {
        explicit_bzero(pass, strlen(pass));
        log_event(s->srv, s, "refused login: address banned (%lld s left)",
                  (long long)(left + 999) / 1000);
        reply(s, 421, "Too many failed logins from your address; closing.");
        s->quit = true;
        return true;
    }
    if (is_anonymous_name(s) ||
        (left = defender_account_banned(s->srv, s->username)) == 0)
        return false;
    explicit_bzero(pass, strlen(pass));
    log_event(s->srv, s, "refused login for '%s': account banned (%lld s left)",
              s->username, (long long)(left + 999) / 1000);
    login_failed(s);
    return true;
}

void cmd_pass(struct ftp_session *s, char *arg)
{
    if (s->state == FTP_LOGGED_IN) {
        reply(s, 230, "Already logged in.");
        return;
    }
    if (s->state != FTP_NEED_PASS) {
        reply(s, 503, "Login with USER first.");
        return;
    }
    if (login_banned(s, arg))
        return;
    struct login_check *c = check_new(s, arg);
    explicit_bzero(arg, strlen(arg));
    if (!c) {
        reply(s, 451, "Out of memory.");
        return;
    }
    long rc = -EIO;
    int orc = 0;
    if (cio_task_cancelled())
        orc = -ESHUTDOWN; /* killed already: do not start a check */
    else if (is_anonymous_name(s) && s->srv->cfg->anonymous)
        rc = check_run(c); /* no password hash: not worth a thread */
    else
        orc = cio_offload_run(&rc, CIO_OFFLOAD_FILE, check_run, c,
                              ctl_deadline(s));
    if (orc < 0) {
        /* Killed, interrupted or timed out while waiting, check_run still runs
         * and drops its share; any other failure means it never started. */
        if (orc != -ECANCELED && orc != -ETIMEDOUT && orc != -EINTR)
            check_put(c);
        check_put(c);
        s->quit = true;
        return;
    }
    if (rc < 0) {
        check_put(c);
        login_failed(s);
        return;
    }
    /* Sessions of one user share its record: anonymous ones all one. */
    const struct ftp_user *u = server_user_get(s->srv, &c->user);
    check_put(c);
    if (!u || enter_root(s, u) < 0) {
        server_user_put(s->srv, u);
        session_logout(s);
        reply(s, 550, "Cannot open the home directory.");
        return;
    }
    s->user = u;
    free(s->username); /* the user's record names it from now on */
    s->username = NULL;
    s->state = FTP_LOGGED_IN;
    log_event(s->srv, s, "login ok%s", u->anonymous ? " (anonymous)" : "");
    reply(s, 230, "Login successful.");
}

void cmd_acct(struct ftp_session *s, char *arg)
{
    if (s->state == FTP_LOGGED_IN)
        reply(s, 202, "ACCT not needed.");
    else
        reply(s, 503, "Login with USER and PASS first.");
}

void session_logout(struct ftp_session *s)
{
    if (s->xfer)
        transfer_abort(s);
    data_reset(s);
    root_put(s->root);
    s->root = NULL;
    s->vfs = NULL;
    server_user_put(s->srv, s->user);
    s->user = NULL;
    free(s->username);
    free(s->cwd);
    free(s->rename_from);
    s->username = s->cwd = s->rename_from = NULL;
    s->state = FTP_NEED_USER;
    s->ascii = false;
    s->epsv_all = false;
    s->rest = 0;
}

void cmd_rein(struct ftp_session *s, char *arg)
{
    if (s->xfer)
        transfer_wait(s);
    if (s->state == FTP_LOGGED_IN)
        log_event(s->srv, s, "logout (REIN)");
    session_logout(s);
    reply(s, 220, "Ready for a new user.");
}

void cmd_quit(struct ftp_session *s, char *arg)
{
    if (s->xfer)
        transfer_wait(s);
    reply(s, 221, "Goodbye.");
    s->quit = true;
}
