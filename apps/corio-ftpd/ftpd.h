/* corio-ftpd's core: the server, its sessions and the pieces each file of
 * the core provides to the others.
 *
 * Calls run one way, top to bottom; files of one layer may call each other
 * (tests/ftpd_layers.sh checks it; function names say which object they act
 * on, not which file holds them: session_target is in commands.c):
 *   main -> session -> commands*.c -> transfer*.c, data, hashpool, dirlist
 *        -> server, defender, partial
 *        -> control, reply, log, vfs, auth, listing, hash, xferlog, config
 * reply.c alone writes replies and maps errors to codes and texts.
 * ftps.c spans the layers (implicit listener, AUTH/PBSZ/PROT, the TLS under
 * reply and transfer): the one file that calls up as well as down. */
#ifndef FTPD_FTPD_H
#define FTPD_FTPD_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <corio.h>

#include "auth.h"
#include "config.h"
#include "partial.h"
#include "ftps.h"
#include "vfs.h"

#define FTPD_VERSION "0.1.0"
#define FTPD_LINE_MAX 4096 /* longest command line, CRLF included */

/* An IPv4 or IPv6 socket address. */
typedef union {
    struct sockaddr sa;      /* the family */
    struct sockaddr_in in;   /* AF_INET */
    struct sockaddr_in6 in6; /* AF_INET6 */
} ftpd_addr;

/* One client address and how many sessions it has open. */
struct ftpd_ipcount {
    struct in6_addr addr;      /* client address, IPv4 mapped */
    int count;                 /* sessions open from it */
    struct ftpd_ipcount *next; /* bucket chain */
};

#define FTPD_IP_BUCKETS 256

struct ftpd_log;  /* log.c */
struct ftpd_user; /* server.c */
struct ftpd_ban;  /* defender.c */
struct hash_job;  /* hashpool.c */

/* The threads HASH runs on (hashpool.c), apart from the file offload pool
 * that password checks and fsyncs use. Threads start on demand. */
struct ftpd_hashpool {
    pthread_mutex_t lock;  /* guards the rest */
    pthread_cond_t cv;     /* a job was queued */
    struct hash_job *head; /* queued jobs, oldest first */
    struct hash_job *tail; /* newest */
    int queued;            /* jobs in the queue */
    int threads;           /* threads alive */
    int idle;              /* threads waiting for a job */
    int max;               /* hash_threads when the last job came */
};

/* What every worker thread shares: the session counts behind the limits
 * (a per-address limit must hold across threads) and the log ids. */
struct ftpd_shared {
    pthread_mutex_t lock;                      /* guards the counts */
    int n_sessions;                            /* sessions, all workers */
    struct ftpd_ipcount *ips[FTPD_IP_BUCKETS]; /* sessions per address */
    atomic_uint_fast64_t next_id;              /* session ids for the log */
    struct ftpd_hashpool hashes;               /* HASH's threads */
    struct ftpd_ban *bans[FTPD_IP_BUCKETS];    /* failed logins (defender.c) */
    int n_bans;                                /* entries in bans */
    struct partial_swept swept;                /* roots cleaned of leftovers */
    struct ftpd_tls *tls;                      /* FTPS, NULL = off (ftps.c) */
};

/* A root directory open as a jail, shared by the sessions (and transfers)
 * of one worker that use it: one fd per root, not per session. */
struct ftpd_root {
    char *path;             /* the directory */
    struct vfs vfs;         /* its jail */
    int refs;               /* holders, the server's cache included */
    struct ftpd_root *next; /* the server's cache */
};

/* One per worker thread (just one without --workers). */
struct ftpd_server {
    struct ftpd_config *cfg;       /* current settings (replaced by SIGHUP) */
    struct userdb *users;          /* current users (replaced by SIGHUP) */
    struct ftpd_log *log;          /* event and transfer logs */
    struct ftpd_shared *shared;    /* limits shared by every worker */
    struct ftp_session *sessions;  /* sessions running a task, newest first */
    struct ftp_session *idle;      /* sessions without a task, oldest first */
    struct ftp_session *idle_tail; /* the newest of idle */
    cio_timer_t *idle_timer;       /* ends idle sessions at idle_timeout */
    cio_watchset_t *watches;       /* the idle sessions' watches */
    int n_sessions;                /* sessions of this worker, every kind */
    struct ftpd_root *roots;       /* open roots, kept while the server runs */
    /* Logged-in users, shared by their sessions (server_user_get). */
    struct ftpd_user *users_shared[FTPD_IP_BUCKETS];
    bool stopping; /* SIGTERM: finish transfers, take no more */
};

/* Control connection states. */
enum ftp_state {
    FTP_NEED_USER, /* before USER (and after REIN) */
    FTP_NEED_PASS, /* USER given, PASS expected */
    FTP_LOGGED_IN  /* ready for everything */
};

struct transfer;

/* Where a session is listed in its server. */
enum ftp_listed {
    FTP_UNLISTED, /* its watch fired: a task will take it */
    FTP_BUSY,     /* srv->sessions: a task runs it */
    FTP_IDLE      /* srv->idle: waiting for a command without a task */
};

/* A session waiting for its next command has no task: a watch on the
 * control connection starts one when the client sends (session.c). */
struct ftp_session {
    /* Pointers and counters, then addresses, ints and flags: no padding. */
    struct ftpd_server *srv;     /* the server; NULL once the session ended */
    struct ftp_session *prev;    /* server's list (sessions or idle) */
    struct ftp_session *next;    /* server's list (sessions or idle) */
    cio_task_t *task;            /* the task running it now, or NULL */
    cio_fd_watch_t watch;        /* armed while idle without a task */
    int64_t idle_since;          /* end of the last command (hub clock, ms) */
    uint64_t id;                 /* number in the log */
    char *username;              /* USER argument until the login */
    const struct ftp_user *user; /* rights and root once logged in, shared */
    struct ftpd_root *root;      /* the user's root, shared */
    struct vfs *vfs;             /* &root->vfs once logged in */
    char *cwd;                   /* working directory, virtual; NULL: "/" */
    char *rename_from;           /* RNFR path waiting for RNTO */
    off_t rest;                  /* REST marker for the next transfer */
    struct transfer *xfer;       /* running transfer, or NULL */
    cio_task_t *xfer_task;       /* its task */
    cio_lock_t *wlock;           /* orders replies from two tasks */
    char *inbuf;                 /* unread control bytes (only while used) */
    size_t inlen;                /* bytes in inbuf */
    size_t line_len;             /* bytes of inbuf the running command took */
    uint64_t bytes_in;           /* bytes uploaded in this session */
    uint64_t bytes_out;          /* bytes downloaded in this session */
    struct ftps_session *ftps;   /* TLS state, NULL in plain FTP (ftps.c) */
    ftpd_addr peer;              /* client's address */
    ftpd_addr local;             /* our end of the control connection */
    ftpd_addr port_addr;         /* PORT/EPRT target */
    int refs;                    /* the session and a running transfer */
    int ctl;                     /* control connection */
    int pasv_fd;                 /* passive listener, -1 = none */
    int failures;                /* failed logins */
    unsigned mlst_hide;          /* MLSx facts OPTS MLST turned off */
    enum ftp_state state;        /* login progress */
    bool ascii;                  /* TYPE A (else TYPE I) */
    bool epsv_all;               /* EPSV ALL: only EPSV from now on */
    bool quit;                   /* leave after this reply */
    bool discarding;             /* skipping the rest of a too-long line */
    bool unread;                 /* the last read filled inbuf: more may wait */
    bool ip_counted;             /* counted in srv->ips */
    bool timed_out;              /* the idle timeout woke it */
    uint8_t listed;              /* enum ftp_listed */
    bool port_set;               /* port_addr is valid */
    char peer_str[48];           /* client address as text for the log */
};

/* ---- session.c ---- */

/* Starts a session on an accepted control connection, which it closes at
 * its end. Returns when the session ends or waits for a command without a
 * task (the session then goes on in tasks of its own). */
void session_run(struct ftpd_server *srv, int fd);
/* The same on the implicit FTPS listener: TLS before the greeting. */
void session_run_implicit(struct ftpd_server *srv, int fd);

/* Graceful stop of a server's sessions: idle ones answer 421 and close,
 * those with a transfer get until deadline_ms to finish and are then
 * killed. Returns once every session has ended. */
void sessions_stop(struct ftpd_server *srv, int64_t deadline_ms);

/* The idle timeout changed (reload): the idle sessions' timer follows. */
void sessions_retime(struct ftpd_server *srv);

/* ---- control.c: the control connection below the command loop ---- */

/* A reference for a transfer task, which may outlive the session task when
 * both are killed at shutdown; the last session_put frees the session. */
struct ftp_session *session_hold(struct ftp_session *s);
void session_put(struct ftp_session *s);

/* Waits until fd is readable while watching the control connection for
 * ABOR and QUIT, which stay in the input for the command loop. 0, or
 * -ECANCELED (ABOR/QUIT came), -EPIPE (the client left), -ETIMEDOUT, or
 * -errno (the task was killed: cio_task_cancelled()). */
int session_wait_fd(struct ftp_session *s, int fd, int64_t deadline_ms);

/* Removes Telnet commands (IAC IP, IAC DM, option negotiation) in place and
 * the line end; returns the new length. */
size_t strip_telnet(char *line, size_t len);

/* True if the client has closed the control connection: an upload whose
 * client vanished is an interrupted one, even if its data ended cleanly. */
bool control_gone(struct ftp_session *s);

/* ---- commands.c (and commands_*.c): each handles one verb; arg is "" when
 * absent ---- */

typedef void (*ftp_cmd_fn)(struct ftp_session *s, char *arg);

struct ftp_command {
    const char *name; /* verb, upper case */
    ftp_cmd_fn fn;    /* handler */
    unsigned flags;   /* CMD_* */
    const char *help; /* syntax for HELP */
};

enum {
    CMD_AUTH = 1,  /* needs a login */
    CMD_ARG = 2,   /* needs an argument */
    CMD_NOARG = 4, /* takes none */
};

const struct ftp_command *commands_find(const char *name);
void commands_help(struct ftp_session *s, const char *arg);

/* The working directory (kept only when it is not the root). */
static inline const char *session_cwd(const struct ftp_session *s)
{
    return s->cwd ? s->cwd : "/";
}

/* Resolves arg against cwd into out (PATH_MAX); on error replies (501/550)
 * and returns -1. */
int session_path(struct ftp_session *s, const char *arg, char *out);

/* Whether the logged-in user may do perm (FTP_PERM_*) on vpath; on
 * refusal replies 550 and returns false. */
bool session_may(struct ftp_session *s, unsigned perm, const char *vpath);

/* session_path then session_may: true when arg resolves (into out) to a
 * path the user may do perm on; otherwise it has replied. */
bool session_target(struct ftp_session *s, const char *arg, unsigned perm,
                    char *out);

/* Ends the login: drops user, root, cwd and pending state (REIN; in
 * commands_auth.c). */
void session_logout(struct ftp_session *s);

/* ---- data.c ---- */

/* Opens a passive listener; fills *port. 0 or -errno. */
int data_listen(struct ftp_session *s, int *port);
/* PORT / EPRT argument into s->port_addr; 0 or the reply code to send. */
int data_parse_port(struct ftp_session *s, const char *arg);
int data_parse_eprt(struct ftp_session *s, const char *arg);
/* Establishes the data connection (accept or connect). fd or -errno. */
int data_open(struct ftp_session *s, int64_t deadline_ms);
/* Forgets PASV/PORT state. */
void data_reset(struct ftp_session *s);
/* Address as text without the port; for v4-mapped, the IPv4 form. */
void addr_to_str(const ftpd_addr *a, char *out, size_t len);
/* True if a and b are the same host (v4-mapped == v4). */
bool addr_same_host(const ftpd_addr *a, const ftpd_addr *b);

/* ---- transfer_task.c (transfer_open.c, transfer.c) ---- */

enum xfer_kind { X_RETR, X_STOR, X_APPE, X_STOU, X_LIST, X_NLST, X_MLSD };

/* Starts a transfer for a verb. The handler has already checked rights;
 * vpath is the resolved path. Replies itself. */
void transfer_begin(struct ftp_session *s, enum xfer_kind kind,
                    const char *vpath, const char *list_opts);
/* LIST or NLST of the names in dir_vpath that match the glob pattern
 * (fnmatch, a leading dot matched only by a dot); NLST puts prefix (the
 * client's own directory part, may be "") before each name. */
void transfer_begin_glob(struct ftp_session *s, enum xfer_kind kind,
                         const char *dir_vpath, const char *list_opts,
                         const char *pattern, const char *prefix);
/* ABOR: stops the running transfer at once; true if there was one. */
bool transfer_abort(struct ftp_session *s);
/* Waits for the running transfer to end (and frees it). */
void transfer_wait(struct ftp_session *s);
/* Cleans up a transfer that has ended by itself. */
void transfer_reap(struct ftp_session *s);
/* Bytes moved so far by the running transfer (for STAT). */
off_t transfer_progress(struct ftp_session *s, const char **what);

/* ---- hashpool.c ---- */

/* SHA-256 of bytes [0, size) of fd (taken over, closed here) on HASH's
 * threads, within hash_timeout, cancelled as session_wait_fd says. 0 with
 * hex filled, -EAGAIN (queue full), or session_wait_fd's or a read's
 * -errno. */
int hash_file(struct ftp_session *s, int fd, off_t size, char hex[65]);

/* ---- defender.c: failed logins per address and account ---- */

enum { DEFENDER_ADDRESS = 1, DEFENDER_ACCOUNT = 2 };

/* Milliseconds left of a ban on the session's address / on an account, 0
 * if none; asking counts as an attempt, which lengthens a ban. */
int64_t defender_address_banned(struct ftpd_server *srv,
                                const struct ftp_session *s);
int64_t defender_account_banned(struct ftpd_server *srv, const char *name);
/* Scores a failed login for the address and account (NULL: none); logs
 * and returns the DEFENDER_* bans that this failure started. */
unsigned defender_failed(struct ftp_session *s, const char *account);
/* Frees the table (at exit). */
void defender_free(struct ftpd_shared *sh);

/* ---- log.c ---- */

/* Opens the logs cfg names; NULL with a message in err. */
struct ftpd_log *log_open(const struct ftpd_config *cfg, char *err,
                          size_t errlen);
void log_close(struct ftpd_log *l);
/* One event line: "time [id] addr user: text". s may be NULL. */
void log_event(struct ftpd_server *srv, struct ftp_session *s, const char *fmt,
               ...) __attribute__((format(printf, 3, 4)));
/* One xferlog line for a finished or failed transfer. */
void log_transfer(struct ftp_session *s, const char *vpath, off_t bytes,
                  int64_t ms, bool upload, bool ascii, bool complete);

/* ---- server.c: limits and shared roots of the whole server ---- */

/* Counts a new session; false (and not counted) if a limit refuses it,
 * with the reason in *why. */
bool server_admit(struct ftpd_server *srv, struct ftp_session *s,
                  const char **why);
void server_release(struct ftpd_server *srv, struct ftp_session *s);

/* The client's address as IPv6 (IPv4 mapped), and a hash bucket for a
 * key (FNV-1a), for the tables of struct ftpd_shared. */
struct in6_addr session_peer_v6(const struct ftp_session *s);
unsigned server_bucket(const void *key, size_t len);

/* A reference to the root at path, opened on first use. 0 or -errno. */
int server_root_get(struct ftpd_server *srv, const char *path,
                    struct ftpd_root **out);
/* The shared record of a user who logged in, u's content (its strings
 * taken over, u left empty), or NULL (out of memory, u released); and
 * dropping a session's reference to it. */
const struct ftp_user *server_user_get(struct ftpd_server *srv,
                                       struct ftp_user *u);
void server_user_put(struct ftpd_server *srv, const struct ftp_user *u);

/* Another reference; and dropping one (the last closes the root). */
struct ftpd_root *root_hold(struct ftpd_root *r);
void root_put(struct ftpd_root *r);
/* Drops the server's cache (at shutdown). */
void server_roots_free(struct ftpd_server *srv);

#endif
