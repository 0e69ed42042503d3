/* Directory listings: MLSD facts (RFC 3659) and the free-form LIST output
 * of Unix-like and DOS-like servers, parsed into one entry per name. */
#ifndef CORIO_FTP_LISTING_H
#define CORIO_FTP_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a listing says about one name. */
typedef struct ftp_entry {
    char *name;      /* the name in its directory (malloc'd) */
    char type;       /* 'f' file, 'd' directory, 'l' link, '?' other */
    int64_t size;    /* bytes, -1 if not given */
    int64_t mtime;   /* seconds since the epoch (UTC), -1 if not given */
    bool exact_time; /* mtime came from MLSD (to the second), not LIST */
} ftp_entry;

/* The entries of one directory. */
typedef struct ftp_listing {
    ftp_entry *v; /* entries, in server order */
    size_t n;     /* how many */
    size_t cap;   /* allocated */
} ftp_listing;

/* Orders for listing_sort_text. */
typedef enum {
    LISTING_BY_NAME, /* byte order of the names, as vsftpd and lftp show */
    LISTING_BY_TIME, /* newest first */
    LISTING_BY_SIZE, /* largest first */
    LISTING_AS_SENT  /* the server's order */
} listing_order;

/* Reorders the lines of a LIST body (*text, malloc'd, *len bytes): lines
 * that name no entry ("total 12") stay first, then the entries in order
 * (reverse flips it); ties go by name. Every line then ends in '\n'. Out of
 * memory leaves the text as it was. */
void listing_sort_text(char **text, size_t *len, listing_order order,
                       bool reverse);

/* ls(1)-style flags ("tr" of "-tr"): t time, S size, U as sent, r
 * reverse; l and a are taken and change nothing (LIST is long already).
 * Returns 0, or the first flag it does not know. */
int listing_flags(const char *flags, listing_order *order, bool *reverse);

/* Parses a whole MLSD or LIST body; "." and ".." and names with a '/' are
 * left out. Returns 0 or -ENOMEM. */
int listing_parse(const char *text, size_t len, bool is_mlsd, ftp_listing *out);

/* Frees every entry. */
void listing_free(ftp_listing *l);

/* The entry called name, or NULL. */
const ftp_entry *listing_find(const ftp_listing *l, const char *name);

#endif
