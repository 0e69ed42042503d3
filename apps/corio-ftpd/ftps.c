/* FTPS (RFC 4217) on libcorio_tls.
 *
 * The control connection turns to TLS at AUTH TLS (or at once on the
 * implicit listener). Its TLS session carries a random tag, bound to every
 * session ticket it issues (and to its cached session for TLS 1.2 session
 * IDs); a PROT P data connection must resume one of them, which is how
 * proftpd ties data to control and works with TLS 1.3, where the classic
 * "same session ID" check of TLS 1.2 servers does not. A third party that
 * steals the passive port has no such session and gets 425. */
#include "ftps.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ftpd.h"
#include "reply.h"

enum mode { TLS_OFF, TLS_OPTIONAL, TLS_REQUIRED };
enum { TAG_LEN = 16, SEND_CHUNK = 1 << 20, FAIR_SHARE = 16 << 20 };

/* What the workers share (ftpd_shared.tls). */
struct ftpd_tls {
    cio_tls_ctx_t *ctx;     /* the server context, reloaded in place */
    int implicit_fd;        /* implicit listener, -1 = none */
    cio_server_t *implicit; /* its accept loop, on one thread */
    atomic_flag claimed;    /* a worker has taken the listener */
    cio_loop_t *owner;      /* the loop of the thread serving it */
};

/* A session's TLS state (ftp_session.ftps). */
struct ftps_session {
    cio_tls_conn_t *ctl;        /* the control connection's TLS */
    bool pbsz;                  /* PBSZ 0 seen */
    bool prot_p;                /* data connections are protected */
    unsigned char tag[TAG_LEN]; /* binds data sessions to this one */
};

static int parse_mode(const struct ftpd_config *cfg)
{
    if (cfg->tls == NULL)
        return cfg->tls_cert ? TLS_OPTIONAL : TLS_OFF;
    if (!strcmp(cfg->tls, "off"))
        return TLS_OFF;
    if (!strcmp(cfg->tls, "optional"))
        return TLS_OPTIONAL;
    return !strcmp(cfg->tls, "required") ? TLS_REQUIRED : -1;
}

static int mode_of(const struct ftp_session *s)
{
    int m = parse_mode(s->srv->cfg);
    return s->srv->shared->tls == NULL || m < 0 ? TLS_OFF : m;
}

const char *ftps_feat(const struct ftp_session *s)
{
    return mode_of(s) == TLS_OFF
               ? ""
               : " AUTH TLS\r\n AUTH SSL\r\n PBSZ\r\n PROT\r\n";
}

bool ftps_secure(const struct ftp_session *s)
{
    return s->ftps != NULL && s->ftps->ctl != NULL;
}

#ifdef CIO_HAVE_TLS

/* Refuses a private key that other users could read. */
static int check_key_mode(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "tls_key %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IROTH | S_IWOTH)) {
        snprintf(err, errlen,
                 "tls_key %s is readable by others (mode %03o); "
                 "chmod 600 it",
                 path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

static int check_settings(const struct ftpd_config *cfg, char *err,
                          size_t errlen)
{
    int m = parse_mode(cfg);
    if (m < 0) {
        snprintf(err, errlen, "tls: expected off, optional or required");
        return -1;
    }
    const char *v = cfg->tls_min_version;
    if (v && strcmp(v, "1.2") && strcmp(v, "1.3")) {
        snprintf(err, errlen, "tls_min_version: expected 1.2 or 1.3");
        return -1;
    }
    if (m == TLS_OFF) {
        if (cfg->tls_implicit_port >= 0) {
            snprintf(err, errlen, "tls_implicit_port needs tls on");
            return -1;
        }
        return 0;
    }
    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf(err, errlen, "tls = %s needs tls_cert and tls_key",
                 m == TLS_REQUIRED ? "required" : "optional");
        return -1;
    }
    return check_key_mode(cfg->tls_key, err, errlen);
}

int ftps_setup(struct ftpd_shared *sh, const struct ftpd_config *cfg, char *err,
               size_t errlen)
{
    sh->tls = NULL;
    if (check_settings(cfg, err, errlen) < 0)
        return -1;
    if (parse_mode(cfg) == TLS_OFF)
        return 0;
    struct ftpd_tls *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->implicit_fd = -1;
    cio_tls_ctx_opts_t o = {
        .server = true,
        .cert_file = cfg->tls_cert,
        .key_file = cfg->tls_key,
        .min_version =
            cfg->tls_min_version && !strcmp(cfg->tls_min_version, "1.3")
                ? CIO_TLS_1_3
                : CIO_TLS_1_2,
        .ciphers = cfg->tls_ciphers,
        .ktls = cfg->tls_ktls,
    };
    char why[300];
    if (cio_tls_ctx_new(&t->ctx, &o, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "tls: %s", why);
        free(t);
        return -1;
    }
    if (cfg->tls_implicit_port >= 0) {
        t->implicit_fd = cio_tcp_listen(
            cfg->listen, (uint16_t)cfg->tls_implicit_port, 0, -1);
        if (t->implicit_fd < 0) {
            snprintf(err, errlen, "cannot listen on implicit FTPS port %d: %s",
                     cfg->tls_implicit_port, cio_strerror(t->implicit_fd));
            cio_tls_ctx_free(t->ctx);
            free(t);
            return -1;
        }
    }
    sh->tls = t;
    return 0;
}

int ftps_reload(struct ftpd_shared *sh, const struct ftpd_config *cfg,
                char *err, size_t errlen)
{
    if (check_settings(cfg, err, errlen) < 0)
        return -1;
    if (sh->tls == NULL) {
        if (parse_mode(cfg) == TLS_OFF)
            return 0;
        snprintf(err, errlen, "turning TLS on needs a restart");
        return -1;
    }
    if (!cfg->tls_cert)
        return 0; /* tls = off now: the context stays, unused */
    char why[300];
    if (cio_tls_ctx_reload(sh->tls->ctx, cfg->tls_cert, cfg->tls_key, why,
                           sizeof(why)) < 0) {
        snprintf(err, errlen, "tls: %s", why);
        return -1;
    }
    return 0;
}

void ftps_free(struct ftpd_shared *sh)
{
    if (!sh->tls)
        return;
    if (sh->tls->implicit_fd >= 0 && !sh->tls->implicit)
        close(sh->tls->implicit_fd);
    cio_tls_ctx_free(sh->tls->ctx);
    free(sh->tls);
    sh->tls = NULL;
}

void ftps_print_listening(const struct ftpd_shared *sh)
{
    if (!sh->tls || sh->tls->implicit_fd < 0)
        return;
    ftpd_addr a;
    socklen_t len = sizeof(a);
    char host[64];
    getsockname(sh->tls->implicit_fd, &a.sa, &len);
    addr_to_str(&a, host, sizeof(host));
    int port =
        ntohs(a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port);
    printf(strchr(host, ':') ? "implicit FTPS on [%s]:%d\n"
                             : "implicit FTPS on %s:%d\n",
           host, port);
    fflush(stdout);
}

static void on_implicit(int fd, const struct sockaddr *peer, socklen_t peer_len,
                        void *data)
{
    cio_task_set_name(cio_task_self(), "ftpd-ftps-session");
    session_run_implicit(data, fd);
}

int ftps_implicit_start(struct ftpd_server *srv)
{
    struct ftpd_tls *t = srv->shared->tls;
    if (!t || t->implicit_fd < 0 || atomic_flag_test_and_set(&t->claimed))
        return 0; /* another worker serves it */
    t->owner = cio_hub_loop();
    return cio_server_start(&t->implicit, t->implicit_fd, on_implicit, srv, 0);
}

void ftps_implicit_stop(struct ftpd_server *srv, int64_t deadline_ms)
{
    struct ftpd_tls *t = srv->shared->tls;
    if (!t || !t->implicit || t->owner != cio_hub_loop())
        return;
    cio_server_stop(t->implicit, deadline_ms); /* closes the fd */
    cio_server_free(t->implicit);
    t->implicit = NULL;
    t->implicit_fd = -1;
}

/* ---- the control connection ---- */

static int64_t handshake_deadline(struct ftp_session *s)
{
    int64_t ms = s->srv->cfg->idle_timeout_ms;
    return cio_deadline_in(ms < 30000 ? ms : 30000);
}

/* Turns the control connection to TLS; on failure the session must end
 * (the stream's state is unknown). */
static int start_control(struct ftp_session *s)
{
    struct ftps_session *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    s->ftps = f;
    if (getrandom(f->tag, sizeof(f->tag), 0) != (ssize_t)sizeof(f->tag))
        return -EIO;
    int rc = cio_tls_conn_new(&f->ctl, s->srv->shared->tls->ctx, s->ctl, NULL);
    if (rc < 0)
        return rc;
    cio_tls_conn_set_tag(f->ctl, f->tag, sizeof(f->tag));
    rc = cio_tls_conn_handshake(f->ctl, handshake_deadline(s));
    if (rc < 0) {
        log_event(s->srv, s, "TLS handshake failed: %s",
                  cio_tls_conn_error(f->ctl));
        return rc;
    }
    log_event(s->srv, s, "TLS %s %s", cio_tls_conn_version(f->ctl),
              cio_tls_conn_cipher(f->ctl));
    return 0;
}

int ftps_implicit_accept(struct ftp_session *s)
{
    int rc = start_control(s);
    if (rc == 0)
        s->ftps->pbsz = s->ftps->prot_p = true; /* implicit: data too */
    return rc;
}

/* Bytes the client sent after the AUTH line are plaintext it slipped in
 * before the handshake: they must not become commands (CVE-2011-0411). */
static void drop_pipelined(struct ftp_session *s)
{
    char *nl = s->inbuf ? memchr(s->inbuf, '\n', s->inlen) : NULL;
    if (nl)
        s->inlen = (size_t)(nl - s->inbuf) + 1;
}

static void cmd_auth(struct ftp_session *s, const char *arg)
{
    bool legacy = !strcasecmp(arg, "SSL") || !strcasecmp(arg, "TLS-P");
    if (mode_of(s) == TLS_OFF) {
        reply(s, 502, "TLS is not configured.");
    } else if (ftps_secure(s)) {
        reply(s, 503, "Already using TLS.");
    } else if (s->state != FTP_NEED_USER) {
        reply(s, 503, "AUTH must come before USER.");
    } else if (!legacy && strcasecmp(arg, "TLS") && strcasecmp(arg, "TLS-C")) {
        reply(s, 504, "Unknown mechanism; use AUTH TLS.");
    } else {
        drop_pipelined(s);
        if (reply(s, 234, "Proceed with negotiation.") < 0)
            return;
        if (start_control(s) < 0) {
            s->quit = true;
            return;
        }
        /* AUTH SSL (the old draft) also protects the data. */
        s->ftps->pbsz = s->ftps->prot_p = legacy;
    }
}

static void cmd_pbsz(struct ftp_session *s, const char *arg)
{
    if (!ftps_secure(s)) {
        reply(s, 503, "PBSZ needs AUTH TLS first.");
        return;
    }
    char *end;
    strtoul(arg, &end, 10);
    if (!*arg || *end) {
        reply(s, 501, "PBSZ takes a number.");
        return;
    }
    s->ftps->pbsz = true;
    reply(s, 200, "PBSZ=0");
}

static void cmd_prot(struct ftp_session *s, const char *arg)
{
    if (!ftps_secure(s) || !s->ftps->pbsz) {
        reply(s, 503, "PROT needs AUTH TLS and PBSZ first.");
    } else if (!strcasecmp(arg, "P")) {
        s->ftps->prot_p = true;
        reply(s, 200, "Data connections will be protected.");
    } else if (!strcasecmp(arg, "C")) {
        if (mode_of(s) == TLS_REQUIRED) {
            reply(s, 534, "Data connections must be protected here.");
            return;
        }
        s->ftps->prot_p = false;
        reply(s, 200, "Data connections will be in clear.");
    } else if (!strcasecmp(arg, "S") || !strcasecmp(arg, "E")) {
        reply(s, 536, "Only PROT C and P are supported.");
    } else {
        reply(s, 504, "Unknown protection level.");
    }
}

static bool is_data_verb(const char *v)
{
    static const char *const verbs[] = {"RETR", "STOR", "STOU", "APPE",
                                        "LIST", "NLST", "MLSD", "PASV",
                                        "EPSV", "PORT", "EPRT"};
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (!strcmp(v, verbs[i]))
            return true;
    return false;
}

bool ftps_command(struct ftp_session *s, const char *verb, char *arg)
{
    if (!strcmp(verb, "AUTH"))
        cmd_auth(s, arg);
    else if (!strcmp(verb, "PBSZ"))
        cmd_pbsz(s, arg);
    else if (!strcmp(verb, "PROT"))
        cmd_prot(s, arg);
    else if (!strcmp(verb, "CCC") && mode_of(s) != TLS_OFF)
        reply(s, 534, "CCC refused: the control connection stays encrypted.");
    else if (mode_of(s) != TLS_REQUIRED)
        return false;
    else if ((!strcmp(verb, "USER") || !strcmp(verb, "PASS")) &&
             !ftps_secure(s))
        reply(s, 530, "TLS required: send AUTH TLS first.");
    else if (s->state == FTP_LOGGED_IN && is_data_verb(verb) &&
             (!s->ftps || !s->ftps->prot_p))
        reply(s, 521, "Data connections must be protected: send PROT P.");
    else
        return false;
    return true;
}

ssize_t ftps_ctl_read(struct ftp_session *s, void *buf, size_t n,
                      int64_t deadline_ms)
{
    return cio_tls_conn_read(s->ftps->ctl, buf, n, deadline_ms);
}

ssize_t ftps_ctl_write(struct ftp_session *s, const void *buf, size_t n,
                       int64_t deadline_ms)
{
    return cio_tls_conn_write(s->ftps->ctl, buf, n, deadline_ms);
}

void ftps_session_end(struct ftp_session *s)
{
    if (!s->ftps)
        return;
    if (s->ftps->ctl) {
        cio_tls_conn_shutdown(s->ftps->ctl, cio_deadline_in(1000));
        cio_tls_conn_free(s->ftps->ctl);
    }
    free(s->ftps);
    s->ftps = NULL;
}

/* ---- data connections ---- */

int ftps_data_start(struct ftp_session *s, int fd, cio_tls_conn_t **out,
                    int64_t deadline_ms)
{
    *out = NULL;
    if (!s->ftps || !s->ftps->prot_p || !s->srv->shared->tls)
        return 0;
    cio_tls_conn_t *c;
    int rc = cio_tls_conn_new(&c, s->srv->shared->tls->ctx, fd, NULL);
    if (rc < 0)
        return rc;
    /* Clients resume the control session, never a data one; tickets they
     * do not read would turn their close into a reset. */
    cio_tls_conn_set_tickets(c, 0);
    if ((rc = cio_tls_conn_handshake(c, deadline_ms)) < 0) {
        log_event(s->srv, s, "data TLS handshake failed: %s",
                  cio_tls_conn_error(c));
        cio_tls_conn_free(c);
        return rc;
    }
    unsigned char tag[64];
    int len = cio_tls_conn_session_tag(c, tag, sizeof(tag));
    bool bound = len == TAG_LEN && !memcmp(tag, s->ftps->tag, TAG_LEN);
    if (!bound && s->srv->cfg->tls_require_reuse) {
        log_event(s->srv, s, "data connection refused: its TLS session %s",
                  len < 0 ? "is not a resumed one"
                          : "belongs to another control connection");
        cio_tls_conn_free(c);
        return -EPERM;
    }
    *out = c;
    return 0;
}

ssize_t ftps_data_read(cio_tls_conn_t *c, void *buf, size_t n,
                       int64_t deadline_ms)
{
    ssize_t r = cio_tls_conn_read(c, buf, n, deadline_ms);
    return r == -ECONNABORTED ? 0 : r;
}

ssize_t ftps_data_write(cio_tls_conn_t *c, const void *buf, size_t n,
                        int64_t deadline_ms)
{
    return cio_tls_conn_write(c, buf, n, deadline_ms);
}

int ftps_send_file(cio_tls_conn_t *c, int file_fd, off_t off, off_t *bytes,
                   bool *local_error, int64_t stall_ms)
{
    size_t since = 0;
    for (;;) {
        ssize_t n =
            cio_tls_conn_sendfile(c, file_fd, &off, SEND_CHUNK, local_error,
                                  cio_deadline_in(stall_ms));
        if (n <= 0)
            return (int)n;
        *bytes += n;
        if ((since += (size_t)n) >= FAIR_SHARE) {
            since = 0;
            cio_task_sleep(0);
        }
    }
}

void ftps_data_end(cio_tls_conn_t **c, bool clean, int64_t deadline_ms)
{
    if (!*c)
        return;
    if (clean)
        cio_tls_conn_shutdown(*c, deadline_ms);
    cio_tls_conn_free(*c);
    *c = NULL;
}

#else /* built without OpenSSL: FTPS is off */

int ftps_setup(struct ftpd_shared *sh, const struct ftpd_config *cfg, char *err,
               size_t errlen)
{
    sh->tls = NULL;
    if (parse_mode(cfg) == TLS_OFF && cfg->tls_implicit_port < 0)
        return 0;
    snprintf(err, errlen, "built without OpenSSL: FTPS is not available");
    return -1;
}

int ftps_reload(struct ftpd_shared *sh, const struct ftpd_config *cfg,
                char *err, size_t errlen)
{
    return ftps_setup(sh, cfg, err, errlen);
}

void ftps_free(struct ftpd_shared *sh)
{
}
void ftps_print_listening(const struct ftpd_shared *sh)
{
}
int ftps_implicit_start(struct ftpd_server *srv)
{
    return 0;
}
void ftps_implicit_stop(struct ftpd_server *srv, int64_t deadline_ms)
{
}
bool ftps_command(struct ftp_session *s, const char *verb, char *arg)
{
    if (strcmp(verb, "AUTH") != 0)
        return false;
    reply(s, 502, "TLS is not available.");
    return true;
}
int ftps_implicit_accept(struct ftp_session *s)
{
    return -ENOTSUP;
}
ssize_t ftps_ctl_read(struct ftp_session *s, void *buf, size_t n,
                      int64_t deadline_ms)
{
    return -ENOTSUP;
}
ssize_t ftps_ctl_write(struct ftp_session *s, const void *buf, size_t n,
                       int64_t deadline_ms)
{
    return -ENOTSUP;
}
void ftps_session_end(struct ftp_session *s)
{
}
int ftps_data_start(struct ftp_session *s, int fd, cio_tls_conn_t **out,
                    int64_t deadline_ms)
{
    *out = NULL;
    return 0;
}
ssize_t ftps_data_read(cio_tls_conn_t *c, void *buf, size_t n,
                       int64_t deadline_ms)
{
    return -ENOTSUP;
}
ssize_t ftps_data_write(cio_tls_conn_t *c, const void *buf, size_t n,
                        int64_t deadline_ms)
{
    return -ENOTSUP;
}
int ftps_send_file(cio_tls_conn_t *c, int file_fd, off_t off, off_t *bytes,
                   bool *local_error, int64_t stall_ms)
{
    return -ENOTSUP;
}
void ftps_data_end(cio_tls_conn_t **c, bool clean, int64_t deadline_ms)
{
}

#endif

void ftps_print_help(FILE *out)
{
    fprintf(out,
            "\nFTPS (RFC 4217): set tls_cert and tls_key (tls = optional then\n"
            "by default). A self-signed pair for testing:\n"
            "  openssl req -x509 -newkey rsa:2048 -nodes -days 365 \\\n"
            "      -subj /CN=$(hostname) -keyout ftpd.key -out ftpd.crt\n"
            "  chmod 600 ftpd.key\n");
}
