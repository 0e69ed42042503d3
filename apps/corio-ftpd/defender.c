/* Failed-login accounting per client address and per account, across every
 * worker, after SFTPGo's "defender": each failed login scores one point for
 * the address and for the account named; ban_threshold points within
 * ban_window ban it for ban_time; each attempt while banned lengthens the
 * ban by ban_growth percent of ban_time. A login that succeeds (anonymous
 * or not) clears nothing: the points expire with the window. The table is
 * bounded (ban_max_entries): when full, the entry closest to expiry goes. */
#include "ftpd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_MS (86400 * 1000LL)

struct ftpd_ban {
    struct ftpd_ban *next;        /* bucket chain */
    bool account;                 /* names an account, not an address */
    struct in6_addr addr;         /* the address (IPv4 mapped) */
    char name[AUTH_NAME_MAX + 1]; /* the account, truncated */
    int score;                    /* failures in the current window */
    int64_t window_end;           /* when the score expires */
    int64_t banned_until;         /* 0 = not banned */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The key of an entry: an address, or an account name. */
struct ban_key {
    bool account;
    struct in6_addr addr;
    char name[AUTH_NAME_MAX + 1];
};

static struct ban_key addr_key(const struct ftp_session *s)
{
    struct ban_key k = {.addr = session_peer_v6(s)};
    return k;
}

static struct ban_key account_key(const char *name)
{
    struct ban_key k = {.account = true};
    snprintf(k.name, sizeof(k.name), "%s", name);
    return k;
}

static unsigned key_bucket(const struct ban_key *k)
{
    return k->account ? server_bucket(k->name, strlen(k->name))
                      : server_bucket(&k->addr, sizeof(k->addr));
}

static bool key_matches(const struct ftpd_ban *b, const struct ban_key *k)
{
    if (b->account != k->account)
        return false;
    return k->account ? !strcmp(b->name, k->name)
                      : !memcmp(&b->addr, &k->addr, sizeof(k->addr));
}

/* The time an entry stops mattering. */
static int64_t expiry(const struct ftpd_ban *b)
{
    return b->banned_until > b->window_end ? b->banned_until : b->window_end;
}

static struct ftpd_ban **find(struct ftpd_shared *sh, const struct ban_key *k)
{
    struct ftpd_ban **p = &sh->bans[key_bucket(k)];
    while (*p && !key_matches(*p, k))
        p = &(*p)->next;
    return p;
}

/* Frees the entry that expires first (an expired one if any). */
static void evict_one(struct ftpd_shared *sh)
{
    struct ftpd_ban **victim = NULL;
    for (int i = 0; i < FTPD_IP_BUCKETS; i++)
        for (struct ftpd_ban **p = &sh->bans[i]; *p; p = &(*p)->next)
            if (!victim || expiry(*p) < expiry(*victim))
                victim = p;
    if (!victim)
        return;
    struct ftpd_ban *gone = *victim;
    *victim = gone->next;
    free(gone);
    sh->n_bans--;
}

/* The entry for k, created when create is set; NULL if none (or no
 * memory). An expired entry is reset. Called with the lock held. */
static struct ftpd_ban *lookup(struct ftpd_shared *sh,
                               const struct ftpd_config *cfg,
                               const struct ban_key *k, bool create,
                               int64_t now)
{
    struct ftpd_ban **p = find(sh, k);
    if (*p) {
        if ((*p)->window_end <= now)
            (*p)->score = 0;
        if ((*p)->banned_until && (*p)->banned_until <= now)
            (*p)->banned_until = 0;
        return *p;
    }
    if (!create)
        return NULL;
    if (sh->n_bans >= cfg->ban_max_entries) {
        while (sh->n_bans >= cfg->ban_max_entries) /* lowered by a reload */
            evict_one(sh);
        p = find(sh, k); /* the chain may have changed */
    }
    struct ftpd_ban *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->account = k->account;
    b->addr = k->addr;
    memcpy(b->name, k->name, sizeof(b->name));
    *p = b;
    sh->n_bans++;
    return b;
}

/* Milliseconds of ban left for k (0: none); an attempt while banned
 * lengthens the ban by ban_growth percent of ban_time, up to a day (or
 * ban_time, if longer) from now. */
static int64_t check(struct ftpd_server *srv, const struct ban_key *k)
{
    const struct ftpd_config *cfg = srv->cfg;
    if (cfg->ban_threshold == 0)
        return 0;
    int64_t now = now_ms(), left = 0;
    pthread_mutex_lock(&srv->shared->lock);
    struct ftpd_ban *b = lookup(srv->shared, cfg, k, false, now);
    if (b && b->banned_until) {
        int64_t cap =
            now + (cfg->ban_time_ms > DAY_MS ? cfg->ban_time_ms : DAY_MS);
        b->banned_until += cfg->ban_time_ms * cfg->ban_growth / 100;
        if (b->banned_until > cap)
            b->banned_until = cap;
        left = b->banned_until - now;
    }
    pthread_mutex_unlock(&srv->shared->lock);
    return left;
}

int64_t defender_address_banned(struct ftpd_server *srv,
                                const struct ftp_session *s)
{
    struct ban_key k = addr_key(s);
    return check(srv, &k);
}

int64_t defender_account_banned(struct ftpd_server *srv, const char *name)
{
    struct ban_key k = account_key(name);
    return check(srv, &k);
}

/* One point for k; true if that starts a ban. Called with the lock held. */
static bool score(struct ftpd_shared *sh, const struct ftpd_config *cfg,
                  const struct ban_key *k, int64_t now)
{
    struct ftpd_ban *b = lookup(sh, cfg, k, true, now);
    if (!b || b->banned_until)
        return false; /* no memory, or banned already (check extends it) */
    if (b->score == 0)
        b->window_end = now + cfg->ban_window_ms;
    if (++b->score < cfg->ban_threshold)
        return false;
    b->score = 0;
    b->banned_until = now + cfg->ban_time_ms;
    return true;
}

unsigned defender_failed(struct ftp_session *s, const char *account)
{
    struct ftpd_server *srv = s->srv;
    const struct ftpd_config *cfg = srv->cfg;
    if (cfg->ban_threshold == 0)
        return 0;
    struct ban_key ka = addr_key(s), kn = {.account = true};
    int64_t now = now_ms();
    unsigned banned = 0;
    pthread_mutex_lock(&srv->shared->lock);
    if (score(srv->shared, cfg, &ka, now))
        banned |= DEFENDER_ADDRESS;
    if (account) {
        kn = account_key(account);
        if (score(srv->shared, cfg, &kn, now))
            banned |= DEFENDER_ACCOUNT;
    }
    pthread_mutex_unlock(&srv->shared->lock);
    long long secs = (long long)(cfg->ban_time_ms / 1000);
    if (banned & DEFENDER_ADDRESS)
        log_event(srv, s, "banned address %s for %lld s after %d failed logins",
                  s->peer_str, secs, cfg->ban_threshold);
    if (banned & DEFENDER_ACCOUNT)
        log_event(srv, s,
                  "banned account '%s' for %lld s after %d failed logins",
                  kn.name, secs, cfg->ban_threshold);
    return banned;
}

void defender_free(struct ftpd_shared *sh)
{
    for (int i = 0; i < FTPD_IP_BUCKETS; i++) {
        while (sh->bans[i]) {
            struct ftpd_ban *b = sh->bans[i];
            sh->bans[i] = b->next;
            free(b);
        }
    }
    sh->n_bans = 0;
}
