/* Session limits, total and per client address, counted across every
 * worker thread; and the roots open as jails, shared by sessions. */
#include "ftpd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct in6_addr session_peer_v6(const struct ftp_session *s)
{
    struct in6_addr v6;
    if (s->peer.sa.sa_family == AF_INET6)
        return s->peer.in6.sin6_addr;
    memset(&v6, 0, sizeof(v6));
    v6.s6_addr[10] = v6.s6_addr[11] = 0xff;
    memcpy(&v6.s6_addr[12], &s->peer.in.sin_addr, 4);
    return v6;
}

unsigned server_bucket(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h % FTPD_IP_BUCKETS;
}

static struct ftpd_ipcount **find_ip(struct ftpd_shared *sh,
                                     const struct in6_addr *a)
{
    struct ftpd_ipcount **p = &sh->ips[server_bucket(a, sizeof(*a))];
    while (*p && memcmp(&(*p)->addr, a, sizeof(*a)) != 0)
        p = &(*p)->next;
    return p;
}

/* Counts the session in the shared limits; false with *why if one is
 * reached. Called with the lock held. */
static bool admit_locked(struct ftpd_shared *sh, const struct ftpd_config *cfg,
                         const struct in6_addr *a, const char **why)
{
    if (sh->n_sessions >= cfg->max_sessions) {
        *why = "Too many users; try again later.";
        return false;
    }
    struct ftpd_ipcount **p = find_ip(sh, a);
    if (*p && cfg->max_per_ip && (*p)->count >= cfg->max_per_ip) {
        *why = "Too many connections from your address.";
        return false;
    }
    if (!*p) {
        if (!(*p = calloc(1, sizeof(**p)))) {
            *why = "Out of memory.";
            return false;
        }
        (*p)->addr = *a;
    }
    (*p)->count++;
    sh->n_sessions++;
    return true;
}

bool server_admit(struct ftpd_server *srv, struct ftp_session *s,
                  const char **why)
{
    if (srv->stopping) {
        *why = "Server shutting down.";
        return false;
    }
    if (defender_address_banned(srv, s) > 0) {
        *why = "Address banned after failed logins; try again later.";
        return false;
    }
    struct in6_addr a = session_peer_v6(s);
    pthread_mutex_lock(&srv->shared->lock);
    bool ok = admit_locked(srv->shared, srv->cfg, &a, why);
    pthread_mutex_unlock(&srv->shared->lock);
    s->ip_counted = ok;
    return ok;
}

void server_release(struct ftpd_server *srv, struct ftp_session *s)
{
    if (!s->ip_counted)
        return;
    struct in6_addr a = session_peer_v6(s);
    struct ftpd_shared *sh = srv->shared;
    pthread_mutex_lock(&sh->lock);
    struct ftpd_ipcount **p = find_ip(sh, &a);
    if (*p && --(*p)->count == 0) {
        struct ftpd_ipcount *gone = *p;
        *p = gone->next;
        free(gone);
    }
    sh->n_sessions--;
    pthread_mutex_unlock(&sh->lock);
    s->ip_counted = false;
}

int server_root_get(struct ftpd_server *srv, const char *path,
                    struct ftpd_root **out)
{
    for (struct ftpd_root *r = srv->roots; r; r = r->next) {
        if (!strcmp(r->path, path)) {
            *out = root_hold(r);
            return 0;
        }
    }
    struct ftpd_root *r = calloc(1, sizeof(*r));
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return -ENOMEM;
    }
    int rc = vfs_open_root(&r->vfs, path);
    if (rc < 0) {
        free(r->path);
        free(r);
        return rc;
    }
    partial_sweep_start(&srv->shared->swept, path);
    r->refs = 2; /* the cache and the caller */
    r->next = srv->roots;
    srv->roots = r;
    *out = r;
    return 0;
}

struct ftpd_root *root_hold(struct ftpd_root *r)
{
    r->refs++;
    return r;
}

void root_put(struct ftpd_root *r)
{
    if (!r || --r->refs > 0)
        return;
    vfs_close(&r->vfs);
    free(r->path);
    free(r);
}

void server_roots_free(struct ftpd_server *srv)
{
    while (srv->roots) {
        struct ftpd_root *r = srv->roots;
        srv->roots = r->next;
        root_put(r);
    }
}

/* A user record shared by the sessions of one worker that logged in as
 * the same user with the same rights: every anonymous session shares one.
 * Immutable while shared; the last session to log out frees it. */
struct ftpd_user {
    struct ftp_user u;      /* first: sessions point at it */
    int refs;               /* sessions logged in with it */
    struct ftpd_user *prev; /* bucket chain */
    struct ftpd_user *next; /* bucket chain */
};

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_user(const struct ftp_user *a, const struct ftp_user *b)
{
    return !strcmp(a->name, b->name) && same_str(a->root, b->root) &&
           same_str(a->upload_dir, b->upload_dir) && a->perms == b->perms &&
           a->anonymous == b->anonymous;
}

const struct ftp_user *server_user_get(struct ftpd_server *srv,
                                       struct ftp_user *u)
{
    struct ftpd_user **head =
        &srv->users_shared[server_bucket(u->name, strlen(u->name))];
    for (struct ftpd_user *e = *head; e; e = e->next) {
        if (same_user(&e->u, u)) {
            ftp_user_release(u);
            e->refs++;
            return &e->u;
        }
    }
    struct ftpd_user *e = calloc(1, sizeof(*e));
    if (!e) {
        ftp_user_release(u);
        return NULL;
    }
    e->u = *u; /* its strings move in */
    memset(u, 0, sizeof(*u));
    e->refs = 1;
    e->next = *head;
    if (*head)
        (*head)->prev = e;
    *head = e;
    return &e->u;
}

void server_user_put(struct ftpd_server *srv, const struct ftp_user *u)
{
    struct ftpd_user *e = (struct ftpd_user *)(void *)u;
    if (!e || --e->refs > 0)
        return;
    if (e->prev)
        e->prev->next = e->next;
    else
        srv->users_shared[server_bucket(e->u.name, strlen(e->u.name))] =
            e->next;
    if (e->next)
        e->next->prev = e->prev;
    ftp_user_release(&e->u);
    free(e);
}
