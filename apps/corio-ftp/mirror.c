/* Tree walks for mirror.h. */
#include "mirror.h"

#include "listing.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *path_join(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    while (dlen > 0 && dir[dlen - 1] == '/')
        dlen--;
    char *out = NULL;
    int rc = dlen == 0 ? asprintf(&out, "%s%s", dir[0] == '/' ? "/" : "", name)
                       : asprintf(&out, "%.*s/%s", (int)dlen, dir, name);
    return rc < 0 ? NULL : out;
}

static long mkdirs_run(void *arg)
{
    char *path = arg;
    long rc = 0;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat st;
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
            rc = -errno;
        else if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
            rc = -ENOTDIR;
        *p = saved;
        if (rc < 0 || saved == '\0')
            break;
    }
    free(path);
    return rc;
}

int local_mkdirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    long result = 0;
    int rc = cio_offload_run(&result, CIO_OFFLOAD_FILE, mkdirs_run, copy, -1);
    return rc < 0 ? rc : (int)result;
}

/* ---- download ---- */

/* A directory still to list: its remote and local paths. */
typedef struct dir_pair {
    char *remote; /* path on the server */
    char *local;  /* where it goes */
} dir_pair;

static bool up_to_date(const ftp_entry *en, const char *local)
{
    struct stat st;
    if (cio_file_stat(local, &st, -1) < 0 || !S_ISREG(st.st_mode))
        return false;
    if (en->size < 0 || st.st_size != en->size)
        return false;
    return !en->exact_time || st.st_mtime == en->mtime;
}

/* The downloads a walk found, submitted once it is over: the total then
 * knows every file and byte before the first one moves. */
typedef struct found_jobs {
    xfer_job **v; /* the jobs */
    size_t n;     /* how many */
    size_t cap;   /* room in v */
} found_jobs;

static int found_add(found_jobs *f, xfer_job *job)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        xfer_job **v = realloc(f->v, cap * sizeof *v);
        if (!v) {
            xfer_job_free(job);
            return -ENOMEM;
        }
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = job;
    return 0;
}

/* Lists one remote directory and collects its files; pushes subdirs. */
static int mirror_get_dir(ftp_conn *c, const ftp_site *site, dir_pair d,
                          dir_pair **stack, size_t *depth, size_t *cap,
                          found_jobs *found, xfer_engine *e)
{
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = local_mkdirs(d.local);
    if (rc < 0) {
        progress_error(e->progress, "corio-ftp: mkdir %s: %s", d.local,
                       cio_strerror(rc));
        return rc;
    }
    rc = ftp_fetch_listing(c, d.remote, false, &text, &len, &is_mlsd);
    if (rc < 0) {
        char url[4600];
        url_format(site, d.remote, url, sizeof url);
        progress_error(e->progress, "corio-ftp: list %s: %s", url,
                       ftp_strerror(c, rc));
        return rc;
    }
    ftp_listing l = {0};
    rc = listing_parse(text, len, is_mlsd, &l);
    free(text);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        const ftp_entry *en = &l.v[i];
        char *r = path_join(d.remote, en->name);
        char *lp = path_join(d.local, en->name);
        if (!r || !lp) {
            rc = -ENOMEM;
        } else if (en->type == 'd') {
            if (*depth == *cap) {
                size_t ncap = *cap ? *cap * 2 : 16;
                dir_pair *grown = realloc(*stack, ncap * sizeof *grown);
                if (!grown) {
                    rc = -ENOMEM;
                    goto next;
                }
                *stack = grown;
                *cap = ncap;
            }
            (*stack)[(*depth)++] = (dir_pair){r, lp};
            continue;
        } else if (en->type == 'f' || en->type == '?') {
            if (up_to_date(en, lp)) {
                progress_expect(e->progress, 1, en->size);
                progress_skip(e->progress, en->size);
            } else {
                xfer_job *job =
                    xfer_job_new(XFER_GET, site, r, lp, en->size, en->mtime);
                rc = job ? found_add(found, job) : -ENOMEM;
            }
        }
    next:
        free(r);
        free(lp);
    }
    listing_free(&l);
    return rc;
}

int mirror_get(ftp_conn *c, const ftp_site *site, const char *remote_root,
               const char *local_dir, xfer_engine *e)
{
    size_t depth = 0, cap = 16;
    dir_pair *stack = malloc(cap * sizeof *stack);
    found_jobs found = {0};
    int problems = 0;
    if (!stack)
        return 1;
    stack[depth++] = (dir_pair){strdup(remote_root), strdup(local_dir)};
    while (depth > 0) {
        dir_pair d = stack[--depth];
        if (!d.remote || !d.local ||
            mirror_get_dir(c, site, d, &stack, &depth, &cap, &found, e) < 0)
            problems++;
        free(d.remote);
        free(d.local);
        if (c->fd < 0 && depth > 0) {
            progress_error(e->progress, "corio-ftp: lost the connection "
                                        "while listing; stopping");
            problems++;
            break;
        }
    }
    while (depth > 0) {
        depth--;
        free(stack[depth].remote);
        free(stack[depth].local);
    }
    free(stack);
    for (size_t i = 0; i < found.n; i++)
        progress_expect(e->progress, 1, found.v[i]->size);
    for (size_t i = 0; i < found.n; i++)
        if (xfer_engine_enqueue(e, found.v[i]) < 0)
            problems++;
    free(found.v);
    return problems;
}

/* ---- upload ---- */

/* One local name found by the walk. */
typedef struct local_entry {
    char *rel;     /* path below the root, "" for the root itself */
    bool is_dir;   /* a directory (else a regular file) */
    int64_t size;  /* file size */
    int64_t mtime; /* modification time */
} local_entry;

/* The walk's result, filled on an offload thread. */
typedef struct local_walk {
    char *root;     /* directory walked */
    local_entry *v; /* entries, each directory before its contents */
    size_t n;       /* how many */
    size_t cap;     /* allocated */
    int err;        /* first error, -errno */
    char *err_path; /* where it happened (malloc'd) */
} local_walk;

static int walk_add(local_walk *w, const char *rel, const struct stat *st)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        local_entry *v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    char *copy = strdup(rel);
    if (!copy)
        return -ENOMEM;
    w->v[w->n++] =
        (local_entry){copy, S_ISDIR(st->st_mode), st->st_size, st->st_mtime};
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_dir(local_walk *w, const char *rel)
{
    char *abs = rel[0] ? path_join(w->root, rel) : strdup(w->root);
    DIR *dir = abs ? opendir(abs) : NULL;
    if (!dir) {
        if (!w->err) {
            w->err = abs ? -errno : -ENOMEM;
            w->err_path = abs;
            abs = NULL;
        }
        free(abs);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown)
                break;
            names = grown;
        }
        if (!(names[n] = strdup(de->d_name)))
            break;
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *child_rel = rel[0] ? path_join(rel, names[i]) : strdup(names[i]);
        char *child_abs = path_join(abs, names[i]);
        struct stat st; /* follows links, as uploads read through them */
        if (child_rel && child_abs && stat(child_abs, &st) == 0 &&
            (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) &&
            walk_add(w, child_rel, &st) == 0 && S_ISDIR(st.st_mode))
            walk_dir(w, child_rel);
        free(child_rel);
        free(child_abs);
        free(names[i]);
    }
    free(names);
    free(abs);
}

static long walk_run(void *arg)
{
    local_walk *w = arg;
    struct stat st;
    if (stat(w->root, &st) < 0) {
        w->err = -errno;
        w->err_path = strdup(w->root);
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        w->err = -ENOTDIR;
        w->err_path = strdup(w->root);
        return 0;
    }
    if (walk_add(w, "", &st) == 0)
        walk_dir(w, "");
    return 0;
}

static void walk_free(local_walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->v[i].rel);
    free(w->v);
    free(w->root);
    free(w->err_path);
    free(w);
}

/* Lists a remote directory, creating it when it is missing. The listing
 * stays empty for a new directory. Existence is asked, not read from a
 * listing: vsftpd answers LIST of a missing path with an empty one. */
static int remote_dir(ftp_conn *c, const char *path, ftp_listing *out)
{
    char *text;
    size_t len;
    bool is_mlsd;
    memset(out, 0, sizeof *out);
    int rc = ftp_dir_exists(c, path);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        rc = ftp_fetch_listing(c, path, false, &text, &len, &is_mlsd);
        if (rc < 0)
            return rc;
        rc = listing_parse(text, len, is_mlsd, out);
        free(text);
        return rc;
    }
    rc = ftp_mkd(c, path);
    if (rc != -EPROTO)
        return rc;
    /* maybe a parent is missing too: make each level, as mkdir -p */
    char *copy = strdup(path);
    if (!copy)
        return -ENOMEM;
    for (char *p = strchr(copy + 1, '/'); p; p = strchr(p + 1, '/')) {
        *p = '\0';
        ftp_mkd(c, copy); /* fails harmlessly where the level exists */
        *p = '/';
    }
    free(copy);
    return c->fd < 0 ? -ENOTCONN : ftp_mkd(c, path);
}

/* The server's entry for local file i, from the listing of its parent:
 * the nearest directory before it whose path is a prefix; NULL if none. */
static const ftp_entry *remote_entry(const local_walk *w,
                                     const ftp_listing *lists, size_t i)
{
    const char *rel = w->v[i].rel;
    const char *slash = strrchr(rel, '/');
    size_t plen = slash ? (size_t)(slash - rel) : 0;
    for (size_t j = i; j-- > 0;)
        if (w->v[j].is_dir && strlen(w->v[j].rel) == plen &&
            !strncmp(w->v[j].rel, rel, plen))
            return listing_find(&lists[j], slash ? slash + 1 : rel);
    return NULL;
}

int mirror_put(ftp_conn *c, const ftp_site *site, const char *local_dir,
               const char *remote_root, xfer_engine *e)
{
    local_walk *w = calloc(1, sizeof *w);
    if (!w || !(w->root = strdup(local_dir))) {
        free(w);
        return 1;
    }
    long ignored;
    int rc = cio_offload_run(&ignored, CIO_OFFLOAD_FILE, walk_run, w, -1);
    if (rc < 0 || w->err) {
        progress_error(e->progress, "corio-ftp: %s: %s",
                       w->err_path ? w->err_path : local_dir,
                       cio_strerror(rc < 0 ? rc : w->err));
        walk_free(w);
        return 1;
    }
    int problems = 0;
    ftp_listing *lists = calloc(w->n, sizeof *lists);
    char **remote = calloc(w->n, sizeof *remote);
    for (size_t i = 0; lists && remote && i < w->n; i++) {
        local_entry *le = &w->v[i];
        remote[i] =
            le->rel[0] ? path_join(remote_root, le->rel) : strdup(remote_root);
        if (!remote[i] || !le->is_dir)
            continue;
        rc = remote_dir(c, remote[i], &lists[i]);
        if (rc < 0) {
            char url[4600];
            url_format(site, remote[i], url, sizeof url);
            progress_error(e->progress, "corio-ftp: mkdir %s: %s", url,
                           ftp_strerror(c, rc));
            problems++;
            if (c->fd < 0 || i == 0)
                goto out; /* no root (or no connection): nothing can land */
        }
    }
    for (size_t i = 0; lists && remote && i < w->n; i++) {
        local_entry *le = &w->v[i];
        if (le->is_dir || !remote[i])
            continue;
        const ftp_entry *there = remote_entry(w, lists, i);
        if (there && there->size == le->size &&
            (!there->exact_time || there->mtime == le->mtime)) {
            progress_expect(e->progress, 1, le->size);
            progress_skip(e->progress, le->size);
            continue;
        }
        char *abs = path_join(local_dir, le->rel);
        xfer_job *job = abs ? xfer_job_new(XFER_PUT, site, remote[i], abs,
                                           le->size, le->mtime)
                            : NULL;
        free(abs);
        if (!job || xfer_engine_submit(e, job) < 0)
            problems++;
    }
out:
    for (size_t i = 0; i < w->n; i++) {
        if (lists)
            listing_free(&lists[i]);
        if (remote)
            free(remote[i]);
    }
    if (!lists || !remote)
        problems++;
    free(lists);
    free(remote);
    walk_free(w);
    return problems;
}
