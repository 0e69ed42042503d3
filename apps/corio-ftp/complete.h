/* Completion candidates for the shell: command names, and remote paths
 * from a listing of the directory being typed (kept until the next
 * command, so pressing Tab again costs no round trip). */
#ifndef CORIO_FTP_COMPLETE_H
#define CORIO_FTP_COMPLETE_H

#include "listing.h"
#include "proto.h"

/* The last remote directory listed for completion. */
typedef struct complete_cache {
    char *dir;         /* its path as typed ("" for the cwd), NULL if none */
    ftp_listing names; /* what it holds */
} complete_cache;

/* The words of words[0..n) that start with prefix: a malloc'd
 * NULL-terminated array of malloc'd strings (empty when none match). */
char **complete_words(const char *const *words, size_t n, const char *prefix);

/* Remote paths that complete word ("dir/pre" lists dir): directories end
 * in '/'. An empty array when nothing matches or the listing fails. */
char **complete_remote(ftp_conn *c, complete_cache *cache, const char *word);

/* Forgets the cached listing (after a command that may change it). */
void complete_cache_clear(complete_cache *cache);

#endif
