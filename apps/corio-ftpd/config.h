/* corio-ftpd settings: defaults, a `key = value` file and the same keys as
 * command-line flags (`--key VALUE`, `--key=VALUE`, underscores or dashes). */
#ifndef FTPD_CONFIG_H
#define FTPD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* When uploads reach the disk before the client hears 226. */
enum ftpd_fsync {
    FTPD_FSYNC_NONE, /* leave it to the kernel (as vsftpd does) */
    FTPD_FSYNC_FILE, /* fsync the file before it is renamed into place */
    FTPD_FSYNC_FULL  /* also fsync the directory after the rename */
};

struct ftpd_config {
    char *root;              /* directory served; required */
    char *listen;            /* listening address, NULL = every address */
    int port;                /* TCP port, 0 = any (printed at start) */
    char *users_file;        /* users file with crypt(3) hashes, or NULL */
    char **users;            /* --user NAME:PASSWORD entries */
    size_t n_users;          /* entries in users */
    bool anonymous;          /* allow anonymous (read-only) logins */
    char *anon_root;         /* anonymous root, NULL = root */
    char *anon_upload_dir;   /* virtual dir anonymous may upload to */
    int64_t idle_timeout_ms; /* control connection idle limit */
    int64_t data_timeout_ms; /* data connection stall limit */
    int pasv_min;            /* passive port range, 0 = any port */
    int pasv_max;            /* last port of the range */
    char *pasv_address;      /* IPv4 address PASV advertises, NULL = ours */
    int max_sessions;        /* sessions at once; over it 421 */
    int max_per_ip;          /* sessions per client address, 0 = no limit */
    int max_login_failures;  /* failed logins before disconnect */
    int64_t login_delay_ms;  /* pause before answering a failed login */
    enum ftpd_fsync fsync;   /* upload durability policy */
    char *log_file;          /* event log, NULL or "-" = stderr */
    char *xferlog;           /* xferlog file, NULL = none */
    bool quiet;              /* no event log at all */
    char *banner;            /* text of the 220 greeting */
    int64_t grace_ms;        /* SIGTERM: time transfers get to finish */
    int umask;               /* mask for created files and directories */
    int64_t shrink_after_ms; /* idle tasks give their stacks back after */
    bool own_session_stacks; /* session tasks do not share stacks */
    int workers;             /* worker threads (1 = this thread only) */
    int hash_threads;        /* threads HASH runs on, all workers */
    int64_t hash_timeout_ms; /* a HASH stops after this long */
    int ban_threshold;       /* failed logins that ban, 0 = never */
    int64_t ban_window_ms;   /* failures count for this long */
    int64_t ban_time_ms;     /* a ban lasts this long */
    int ban_growth;          /* percent of ban_time per try while banned */
    int ban_max_entries;     /* addresses and accounts tracked */
    int64_t resume_life_ms;  /* cut uploads are kept this long, 0 = never */
    int resume_quota_mib;    /* kept data per user and root, MiB */
    char *tls;               /* off|optional|required, NULL = by tls_cert */
    char *tls_cert;          /* PEM certificate chain (FTPS) */
    char *tls_key;           /* its private key, not readable by others */
    int tls_implicit_port;   /* implicit FTPS listener, -1 = none */
    char *tls_min_version;   /* "1.2" (default) or "1.3" */
    char *tls_ciphers;       /* TLS 1.2 cipher list, NULL = OpenSSL's */
    bool tls_require_reuse;  /* data TLS must resume the control session */
    bool tls_ktls;           /* downloads through kernel TLS when offered */
};

/* Fills c with the defaults. */
void config_init(struct ftpd_config *c);

/* Frees every string c owns (c itself is not freed). */
void config_free(struct ftpd_config *c);

/* Sets key (dashes or underscores) to value. Returns 0, or -1 with a
 * message in err. */
int config_set(struct ftpd_config *c, const char *key, const char *value,
               char *err, size_t errlen);

/* True if key is a boolean that a bare `--key` flag turns on. */
bool config_is_flag(const char *key);

/* True for an option the command line and the config file know. */
bool config_has_key(const char *key);

/* Reads a `key = value` file (# comments, blank lines). 0 or -1 + err. */
int config_load_file(struct ftpd_config *c, const char *path, char *err,
                     size_t errlen);

/* Writes the keys, their defaults and meaning (for --help). */
void config_print_help(void);

#endif
