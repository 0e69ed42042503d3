/* Directory listings in the forms FTP clients parse: `ls -l` lines for LIST
 * and RFC 3659 facts for MLSD/MLST. Pure formatting of a name and its
 * struct stat; the caller reads the directory (vfs_opendir) and adds the
 * line ends ("\r\n"). Times are UTC, as RFC 3659 requires for MLSx and most
 * servers use for LIST. */
#ifndef CORIO_FTPD_LISTING_H
#define CORIO_FTPD_LISTING_H

#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

/* Format one LIST line, e.g.
 *   -rw-r--r--    1 1000     1000         1234 Nov 26 12:00 name
 * with the year instead of the time for entries older than six months or in
 * the future (relative to `now`), numeric owner and group. Returns the
 * length written (no line end), or -ENAMETOOLONG if `len` is too small
 * (`buf` then holds ""). */
int listing_ls_line(char *buf, size_t len, const char *name,
                    const struct stat *st, time_t now);

/* The same with owner and group names (NULL: the numeric ids). */
int listing_ls_line_owner(char *buf, size_t len, const char *name,
                          const struct stat *st, time_t now, const char *owner,
                          const char *group);

/* Format MLSD/MLST facts and the name, e.g.
 *   modify=20251126120000;perm=adfrw;size=1234;type=file;unique=803U2a1;
 *   UNIX.mode=0644; name
 * (one line). `type` is "cdir" or "pdir" for the listed directory and its
 * parent, or NULL to derive "file"/"dir"/"OS.unix=symlink" etc. from `st`.
 * The perm fact assumes everything is allowed and the file's mode bits let
 * us: see listing_mlsx_facts_perm() to narrow it. Returns the length, or
 * -ENAMETOOLONG. */
int listing_mlsx_facts(char *buf, size_t len, const char *name,
                       const struct stat *st, const char *type);

/* What a user may do, for the perm fact (bits as auth.h's FTP_PERM_*). */
enum {
    LISTING_MAY_LIST = 1u << 0,   /* e, l on directories */
    LISTING_MAY_READ = 1u << 1,   /* r on files */
    LISTING_MAY_WRITE = 1u << 2,  /* a, w on files; c on directories */
    LISTING_MAY_DELETE = 1u << 3, /* d; p on directories */
    LISTING_MAY_RENAME = 1u << 4, /* f */
    LISTING_MAY_MKDIR = 1u << 5,  /* m on directories */
    LISTING_MAY_ALL = (1u << 6) - 1
};

/* listing_mlsx_facts() with the perm fact limited to `may` (LISTING_MAY_*). */
int listing_mlsx_facts_perm(char *buf, size_t len, const char *name,
                            const struct stat *st, const char *type,
                            unsigned may);

/* The facts of an MLSx line, in the order a line carries them. */
enum {
    LISTING_FACT_MODIFY = 1u << 0,
    LISTING_FACT_PERM = 1u << 1,
    LISTING_FACT_SIZE = 1u << 2, /* files only */
    LISTING_FACT_TYPE = 1u << 3,
    LISTING_FACT_UNIQUE = 1u << 4,
    LISTING_FACT_UNIX_MODE = 1u << 5,
    LISTING_FACTS = 6 /* how many */
};

/* Their names as FEAT and OPTS MLST spell them, indexed by bit number. */
extern const char *const listing_fact_names[LISTING_FACTS];

/* listing_mlsx_facts_perm() without the facts in `hide` (LISTING_FACT_*,
 * as OPTS MLST deselects them); with every fact hidden the line is
 * " name". */
int listing_mlsx_facts_sel(char *buf, size_t len, const char *name,
                           const struct stat *st, const char *type,
                           unsigned may, unsigned hide);

/* 1 if `name` can appear in a listing: not empty and without '\r' or '\n'
 * (which would break the reply into forged lines); 0 if the entry must be
 * skipped. */
int listing_name_ok(const char *name);

#endif
