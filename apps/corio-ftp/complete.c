/* Completion candidates for complete.h. */
#include "complete.h"

#include <stdlib.h>
#include <string.h>

/* A growing NULL-terminated array of strings. */
typedef struct cand_list {
    char **v;   /* the strings, NULL after the last */
    size_t n;   /* how many */
    size_t cap; /* room in v, the NULL included */
} cand_list;

static int cand_add(cand_list *l, const char *a, const char *b, const char *c)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (!s)
        return -1;
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    memcpy(s + la + lb, c, lc + 1);
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

static char **cand_done(cand_list *l)
{
    if (!l->v)
        l->v = calloc(1, sizeof *l->v);
    return l->v;
}

char **complete_words(const char *const *words, size_t n, const char *prefix)
{
    cand_list l = {0};
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(words[i], prefix, plen))
            cand_add(&l, words[i], "", "");
    return cand_done(&l);
}

void complete_cache_clear(complete_cache *cache)
{
    free(cache->dir);
    cache->dir = NULL;
    listing_free(&cache->names);
}

/* Lists dir into the cache unless it holds it already. */
static int cache_fill(ftp_conn *c, complete_cache *cache, const char *dir)
{
    if (cache->dir && !strcmp(cache->dir, dir))
        return 0;
    complete_cache_clear(cache);
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = ftp_fetch_listing(c, dir, false, &text, &len, &is_mlsd);
    if (rc < 0)
        return rc;
    rc = listing_parse(text, len, is_mlsd, &cache->names);
    free(text);
    if (rc == 0 && !(cache->dir = strdup(dir)))
        rc = -1;
    if (rc < 0)
        listing_free(&cache->names);
    return rc;
}

char **complete_remote(ftp_conn *c, complete_cache *cache, const char *word)
{
    cand_list l = {0};
    const char *slash = strrchr(word, '/');
    size_t dlen = slash ? (size_t)(slash - word + 1) : 0;
    char *dir = strndup(word, dlen); /* "a/b/" or "" */
    if (!dir)
        return cand_done(&l);
    const char *prefix = word + dlen;
    size_t plen = strlen(prefix);
    if (c->fd >= 0 && cache_fill(c, cache, dir) == 0)
        for (size_t i = 0; i < cache->names.n; i++) {
            const ftp_entry *en = &cache->names.v[i];
            if (!strncmp(en->name, prefix, plen) &&
                (plen > 0 || en->name[0] != '.')) /* dot files when asked */
                cand_add(&l, dir, en->name, en->type == 'd' ? "/" : "");
        }
    free(dir);
    return cand_done(&l);
}
