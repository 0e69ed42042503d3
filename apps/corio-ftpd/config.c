/* The settings table: one entry per key, shared by the config file and the
 * command line so that every key is also a flag. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum kind {
    K_STR,
    K_INT,
    K_BOOL,
    K_SECONDS,
    K_MS,
    K_RANGE,
    K_FSYNC,
    K_USER,
    K_OCTAL
};

struct key {
    const char *name; /* key with underscores */
    enum kind kind;   /* how the value is parsed */
    size_t offset;    /* field in struct ftpd_config */
    long min, max;    /* bounds for numbers */
    const char *help; /* one line for --help */
};

#define F(field) offsetof(struct ftpd_config, field)

static const struct key keys[] = {
    {"root", K_STR, F(root), 0, 0, "DIR  directory served (required)"},
    {"listen", K_STR, F(listen), 0, 0,
     "ADDR  address to listen on (default: every IPv6 and IPv4 address, [::])"
     " (restart)"},
    {"port", K_INT, F(port), 0, 65535,
     "N  TCP port (default 21; 0 = any) (restart)"},
    {"users_file", K_STR, F(users_file), 0, 0,
     "FILE  users with crypt(3) hashes (see `passwd`)"},
    {"user", K_USER, F(users), 0, 0,
     "NAME:PASSWORD  add a user with the root's full rights (repeatable)"},
    {"anonymous", K_BOOL, F(anonymous), 0, 0,
     "allow anonymous read-only logins (default off)"},
    {"anon_root", K_STR, F(anon_root), 0, 0,
     "DIR  anonymous root (default: root)"},
    {"anon_upload_dir", K_STR, F(anon_upload_dir), 0, 0,
     "VPATH  directory where anonymous may upload (default: none)"},
    {"idle_timeout", K_SECONDS, F(idle_timeout_ms), 1, 86400,
     "SECONDS  idle control connection limit (default 300)"},
    {"data_timeout", K_SECONDS, F(data_timeout_ms), 1, 86400,
     "SECONDS  stalled data connection limit (default 60)"},
    {"pasv_ports", K_RANGE, F(pasv_min), 1024, 65535,
     "MIN-MAX  passive port range (default: any port)"},
    {"pasv_address", K_STR, F(pasv_address), 0, 0,
     "IPV4  address PASV replies advertise (default: the server's)"},
    {"max_sessions", K_INT, F(max_sessions), 1, 1000000,
     "N  sessions at once (default 4096)"},
    {"max_per_ip", K_INT, F(max_per_ip), 0, 1000000,
     "N  sessions per client address, 0 = no limit (default 64)"},
    {"max_login_failures", K_INT, F(max_login_failures), 1, 1000,
     "N  failed logins before disconnect (default 3)"},
    {"login_delay", K_MS, F(login_delay_ms), 0, 60000,
     "MS  pause before a failed-login reply (default 1000)"},
    {"fsync", K_FSYNC, F(fsync), 0, 0,
     "none|file|full  upload durability (default file)"},
    {"log_file", K_STR, F(log_file), 0, 0, "FILE  event log (default stderr)"},
    {"xferlog", K_STR, F(xferlog), 0, 0, "FILE  xferlog transfer log"},
    {"quiet", K_BOOL, F(quiet), 0, 0, "no event log"},
    {"banner", K_STR, F(banner), 0, 0, "TEXT  greeting text"},
    {"grace", K_SECONDS, F(grace_ms), 0, 3600,
     "SECONDS  time SIGTERM gives transfers (default 10)"},
    {"umask", K_OCTAL, F(umask), 0, 0777, "OCTAL  for new files (default 022)"},
    {"own_session_stacks", K_BOOL, F(own_session_stacks), 0, 0,
     "session tasks keep stacks of their own (default: they share a few; "
     "a session waiting for a command has no task either way)"},
    {"shrink_after", K_MS, F(shrink_after_ms), 0, 3600000,
     "MS  tasks waiting this long give their stacks back (default 1000; 0 "
     "= never)"},
    {"workers", K_INT, F(workers), 0, 256,
     "N  worker threads, each with its own loop; 0 = one per CPU "
     "(default 0) (restart)"},
    {"hash_threads", K_INT, F(hash_threads), 1, 64,
     "N  threads for HASH, apart from logins and fsync (default 2)"},
    {"hash_timeout", K_SECONDS, F(hash_timeout_ms), 1, 86400,
     "SECONDS  a HASH stops after this long (default 300)"},
    {"ban_threshold", K_INT, F(ban_threshold), 0, 1000000,
     "N  failed logins from an address, or for an account, within "
     "ban_window that ban it (default 10; 0 = no bans)"},
    {"ban_window", K_SECONDS, F(ban_window_ms), 1, 86400 * 30,
     "SECONDS  how long a failed login counts (default 1800)"},
    {"ban_time", K_SECONDS, F(ban_time_ms), 1, 86400 * 30,
     "SECONDS  how long a ban lasts (default 1800)"},
    {"ban_growth", K_INT, F(ban_growth), 0, 1000,
     "PERCENT  of ban_time each try while banned adds (default 50)"},
    {"ban_max_entries", K_INT, F(ban_max_entries), 1, 10000000,
     "N  addresses and accounts tracked at once (default 10000)"},
    {"resume_lifetime", K_SECONDS, F(resume_life_ms), 0, 31536000,
     "SECONDS  keep a cut upload this long for REST/APPE to resume; 0 = "
     "never (default 86400)"},
    {"resume_quota", K_INT, F(resume_quota_mib), 0, 1 << 30,
     "MIB  kept data of cut uploads per user (default 10240)"},
    {"tls", K_STR, F(tls), 0, 0,
     "off|optional|required  FTPS; required: no USER before AUTH TLS, no "
     "data without PROT P (default: optional with tls-cert, else off)"},
    {"tls_cert", K_STR, F(tls_cert), 0, 0, "FILE  PEM certificate chain"},
    {"tls_key", K_STR, F(tls_key), 0, 0,
     "FILE  its private key (refused if others can read it)"},
    {"tls_implicit_port", K_INT, F(tls_implicit_port), -1, 65535,
     "N  implicit FTPS listener (990 style; -1 = none, the default)"},
    {"tls_min_version", K_STR, F(tls_min_version), 0, 0,
     "1.2|1.3  oldest TLS version accepted (default 1.2)"},
    {"tls_ciphers", K_STR, F(tls_ciphers), 0, 0,
     "LIST  TLS 1.2 ciphers, OpenSSL syntax (default: OpenSSL's)"},
    {"tls_require_reuse", K_BOOL, F(tls_require_reuse), 0, 0,
     "data connections must resume the control TLS session (default yes)"},
    {"tls_ktls", K_BOOL, F(tls_ktls), 0, 0,
     "downloads through kernel TLS where the kernel has the tls ULP "
     "(default no)"},
};

void config_init(struct ftpd_config *c)
{
    memset(c, 0, sizeof(*c));
    c->port = 21;
    c->idle_timeout_ms = 300 * 1000;
    c->data_timeout_ms = 60 * 1000;
    c->max_sessions = 4096;
    c->max_per_ip = 64;
    c->max_login_failures = 3;
    c->login_delay_ms = 1000;
    c->fsync = FTPD_FSYNC_FILE;
    c->grace_ms = 10 * 1000;
    c->umask = 022;
    c->shrink_after_ms = 1000;
    c->workers = 0; /* one per CPU: see build_config */
    c->hash_threads = 2;
    c->hash_timeout_ms = 300 * 1000;
    c->ban_threshold = 10;
    c->ban_window_ms = 1800 * 1000;
    c->ban_time_ms = 1800 * 1000;
    c->ban_growth = 50;
    c->ban_max_entries = 10000;
    c->resume_life_ms = 86400 * 1000;
    c->resume_quota_mib = 10240;
    c->tls_implicit_port = -1;
    c->tls_require_reuse = true;
}

void config_free(struct ftpd_config *c)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (keys[i].kind == K_STR)
            free(*(char **)((char *)c + keys[i].offset));
    for (size_t i = 0; i < c->n_users; i++)
        free(c->users[i]);
    free(c->users);
    memset(c, 0, sizeof(*c));
}

static const struct key *find_key(const char *name)
{
    char norm[64];
    size_t n = strlen(name);
    if (n >= sizeof(norm))
        return NULL;
    for (size_t i = 0; i <= n; i++)
        norm[i] = name[i] == '-' ? '_' : name[i];
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].name, norm) == 0)
            return &keys[i];
    return NULL;
}

bool config_has_key(const char *key)
{
    return find_key(key) != NULL || strcmp(key, "config") == 0;
}

bool config_is_flag(const char *key)
{
    const struct key *k = find_key(key);
    return k && k->kind == K_BOOL;
}

static int parse_long(const char *s, int base, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, base);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"1", "yes", "true", "on"};
    static const char *no[] = {"0", "no", "false", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, 0;
    }
    return -1;
}

static int set_number(const struct key *k, void *field, const char *v,
                      char *err, size_t errlen)
{
    long n;
    int base = k->kind == K_OCTAL ? 8 : 10;
    if (parse_long(v, base, &n) < 0 || n < k->min || n > k->max) {
        snprintf(err, errlen, "%s: expected a number from %ld to %ld, got '%s'",
                 k->name, k->min, k->max, v);
        return -1;
    }
    if (k->kind == K_SECONDS)
        *(int64_t *)field = (int64_t)n * 1000;
    else if (k->kind == K_MS)
        *(int64_t *)field = n;
    else
        *(int *)field = (int)n;
    return 0;
}

static int set_range(struct ftpd_config *c, const struct key *k, const char *v,
                     char *err, size_t errlen)
{
    long lo, hi;
    char buf[32];
    const char *dash = strchr(v, '-');
    if (!dash || (size_t)(dash - v) >= sizeof(buf))
        goto bad;
    memcpy(buf, v, (size_t)(dash - v));
    buf[dash - v] = '\0';
    if (parse_long(buf, 10, &lo) < 0 || parse_long(dash + 1, 10, &hi) < 0 ||
        lo < k->min || hi > k->max || lo > hi)
        goto bad;
    c->pasv_min = (int)lo;
    c->pasv_max = (int)hi;
    return 0;
bad:
    snprintf(err, errlen, "%s: expected MIN-MAX within 1024-65535, got '%s'",
             k->name, v);
    return -1;
}

static int add_user(struct ftpd_config *c, const char *v, char *err,
                    size_t errlen)
{
    const char *colon = strchr(v, ':');
    if (!colon || colon == v || !colon[1]) {
        snprintf(err, errlen, "user: expected NAME:PASSWORD");
        return -1;
    }
    char **users = realloc(c->users, (c->n_users + 1) * sizeof(*users));
    if (!users)
        goto nomem;
    c->users = users;
    if (!(c->users[c->n_users] = strdup(v)))
        goto nomem;
    c->n_users++;
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int config_set(struct ftpd_config *c, const char *key, const char *value,
               char *err, size_t errlen)
{
    const struct key *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown setting '%s'", key);
        return -1;
    }
    void *field = (char *)c + k->offset;
    switch (k->kind) {
    case K_STR: {
        char *copy = strdup(value);
        if (!copy) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    case K_BOOL:
        if (parse_bool(value, (bool *)field) < 0) {
            snprintf(err, errlen, "%s: expected yes or no, got '%s'", k->name,
                     value);
            return -1;
        }
        return 0;
    case K_RANGE:
        return set_range(c, k, value, err, errlen);
    case K_USER:
        return add_user(c, value, err, errlen);
    case K_FSYNC:
        if (strcmp(value, "none") == 0)
            c->fsync = FTPD_FSYNC_NONE;
        else if (strcmp(value, "file") == 0)
            c->fsync = FTPD_FSYNC_FILE;
        else if (strcmp(value, "full") == 0)
            c->fsync = FTPD_FSYNC_FULL;
        else {
            snprintf(err, errlen, "fsync: expected none, file or full");
            return -1;
        }
        return 0;
    default:
        return set_number(k, field, value, err, errlen);
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                 s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int config_load_file(struct ftpd_config *c, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096], msg[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), f)) {
        lineno++;
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            rc = -1;
            break;
        }
        *eq = '\0';
        if (config_set(c, trim(s), trim(eq + 1), msg, sizeof(msg)) < 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

void config_print_help(void)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char flag[64];
        size_t j = 0;
        for (const char *p = keys[i].name; *p && j < sizeof(flag) - 1; p++)
            flag[j++] = *p == '_' ? '-' : *p;
        flag[j] = '\0';
        /* Non-boolean help reads "ARG  description". */
        const char *h = keys[i].help, *gap = strstr(h, "  ");
        if (keys[i].kind == K_BOOL || !gap)
            printf("  --%-22s %s\n", flag, h);
        else
            printf("  --%s %.*s%*s %s\n", flag, (int)(gap - h), h,
                   (int)(21 - strlen(flag) - (size_t)(gap - h)) > 0
                       ? (int)(21 - strlen(flag) - (size_t)(gap - h))
                       : 0,
                   "", gap + 2);
    }
}
