/* Users of corio-ftpd: the users file, password checks and the
 * `corio-ftpd passwd` subcommand.
 *
 * Users file format, one user per line:
 *
 *     name:crypt-hash:root:perms
 *
 *   name   1..64 bytes of [A-Za-z0-9._@+-], unique in the file; "anonymous"
 *          and "ftp" are reserved for anonymous access (--anonymous).
 *   hash   a crypt(3) hash as printed by `corio-ftpd passwd` (yescrypt "$y$"
 *          or sha512-crypt "$6$"; any method libcrypt accepts and does not
 *          flag as legacy). A hash starting with '!' or '*' disables the user.
 *   root   the user's root directory: an absolute path (it may contain ':'),
 *          or empty for the server's --root.
 *   perms  a subset of the letters l (list), r (read/download), w (write:
 *          upload, append, SITE CHMOD, MFMT; anonymous upload rights
 *          never include SITE CHMOD or MFMT), d (delete files and empty
 *          directories), n (rename), m (make directories); or `*` for all.
 *          Empty means no permission at all (login only).
 *
 * Lines starting with '#' (after optional blanks) and blank lines are ignored;
 * a trailing "\r" is ignored. Any other malformed line makes the whole load
 * fail with a message naming the file, line number and the problem.
 *
 * A loaded `struct userdb` is immutable apart from userdb_add() and
 * userdb_set_anonymous() (to be called before it is shared), so
 * userdb_check() may run on several threads at once. */
#ifndef CORIO_FTPD_AUTH_H
#define CORIO_FTPD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

/* Permission bits of a user (letters in the users file). */
enum {
    FTP_PERM_LIST = 1u << 0,   /* l: LIST, NLST, MLSD, MLST, STAT path */
    FTP_PERM_READ = 1u << 1,   /* r: RETR, SIZE, MDTM, HASH */
    FTP_PERM_WRITE = 1u << 2,  /* w: STOR, STOU, APPE (and FTP_PERM_ATTR) */
    FTP_PERM_DELETE = 1u << 3, /* d: DELE, RMD */
    FTP_PERM_RENAME = 1u << 4, /* n: RNFR/RNTO */
    FTP_PERM_MKDIR = 1u << 5,  /* m: MKD */
    FTP_PERM_ATTR = 1u << 6,   /* SITE CHMOD, MFMT: comes with w, never anon */
    FTP_PERM_ALL = (1u << 7) - 1
};

/* Longest user name, NUL excluded. */
#define AUTH_NAME_MAX 64

/* A logged-in user, filled by userdb_check(); owns its strings, release with
 * ftp_user_release(). Kept small: it lives as long as the FTP session. */
struct ftp_user {
    char name[AUTH_NAME_MAX + 1]; /* login name ("anonymous" for anonymous) */
    char *root;       /* root directory; "" means the server's --root */
    char *upload_dir; /* anonymous only: virtual dir where uploads may go, or
                         NULL (no uploads) */
    unsigned perms;   /* FTP_PERM_* bits */
    bool anonymous;   /* logged in as anonymous/ftp (any password) */
};

struct userdb;

/* Load the users file at `path` (NULL: start with an empty database for
 * --user and --anonymous only). Returns 0 and a new database in *out, or a
 * negative errno with a human-readable message in `err` ("FILE:LINE: ..."). */
int userdb_load(struct userdb **out, const char *path, char *err,
                size_t errlen);

/* Add a named user (e.g. from --user NAME:PASSWORD); the password is hashed
 * at once and not kept. `root` NULL or "" means the server's --root.
 * Returns 0, -EEXIST for a name already present, -EINVAL for a bad name. */
int userdb_add(struct userdb *db, const char *name, const char *plain_password,
               const char *root, unsigned perms);

/* Allow anonymous logins ("anonymous" or "ftp", any password) with read-only
 * access (FTP_PERM_LIST|FTP_PERM_READ) to `root` ("" or NULL: the server's
 * --root) and, if `upload_dir` (a virtual path such as "/incoming") is given,
 * uploads of new files beneath it (see ftp_user_allows()). */
int userdb_set_anonymous(struct userdb *db, const char *root,
                         const char *upload_dir);

/* Check a login. Returns 0 and fills *out (release with ftp_user_release()),
 * or -EACCES for an unknown user, a wrong password or a disabled account,
 * taking about the same time in each case. Slow on purpose (one hash, tens
 * of ms): run it on the offload pool. Thread-safe. */
int userdb_check(const struct userdb *db, const char *name,
                 const char *password, struct ftp_user *out);

/* Number of users in the database (anonymous not counted). */
size_t userdb_count(const struct userdb *db);

/* Warns on stderr about each user root (and the anonymous root) that is
 * not an existing directory; returns how many. */
int userdb_warn_roots(const struct userdb *db);

/* Take another reference (for a reload while checks are in flight). */
struct userdb *userdb_ref(struct userdb *db);

/* Drop a reference; the last one frees the database. NULL is ignored. */
void userdb_free(struct userdb *db);

/* Free the strings of a user filled by userdb_check(); idempotent. */
void ftp_user_release(struct ftp_user *u);

/* Whether `u` may do `perm` (one FTP_PERM_* bit) on virtual path `vpath`:
 * its perms bits, and for anonymous users FTP_PERM_WRITE also strictly
 * beneath upload_dir (the server should still refuse to overwrite existing
 * files there: anonymous users may add, not replace). Anonymous users never
 * get FTP_PERM_ATTR: upload rights do not include modes and times. Returns 1
 * or 0. */
int ftp_user_allows(const struct ftp_user *u, unsigned perm, const char *vpath);

/* Parse a perms string ("lrw", "*", "") into FTP_PERM_* bits; -EINVAL on an
 * unknown letter. */
int auth_parse_perms(const char *s, unsigned *perms);

/* Write the letters of `perms` ("*" for all) into `out` (>= 8 bytes). */
void auth_format_perms(unsigned perms, char *out, size_t outlen);

/* Hash `password` with a fresh random salt (yescrypt, else sha512-crypt).
 * Returns 0, or -ERANGE if `outlen` is too small (CRYPT_OUTPUT_SIZE = 384
 * always fits), -ENOSYS if libcrypt offers neither method. */
int auth_hash_password(const char *password, char *out, size_t outlen);

/* `corio-ftpd passwd NAME [ROOT [PERMS]]`: argv[0] is "passwd". Reads the
 * password from the terminal without echo (asked twice) or as one line from
 * stdin when it is not a terminal, and prints `NAME:HASH:ROOT:PERMS` (ROOT
 * default empty = the server's --root, PERMS default `*`). Returns the exit
 * status. */
int auth_passwd_main(int argc, char **argv);

#endif
