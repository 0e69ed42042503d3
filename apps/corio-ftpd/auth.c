/* Users of corio-ftpd: see auth.h for the users file format. Hashes are
 * crypt(3) strings checked with libcrypt's reentrant crypt_rn(); an unknown
 * user costs the same hash as a known one (another user's, with its cost
 * settings) so that timing does not tell which names exist. */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

struct user_entry {
    char *name;     /* login name */
    char *hash;     /* crypt(3) hash; '!' or '*' first: disabled */
    char *root;     /* root directory, "" for the server's --root */
    unsigned perms; /* FTP_PERM_* bits */
    unsigned line;  /* line of the users file (0: added by userdb_add) */
};

struct userdb {
    atomic_uint refs;         /* references; the last userdb_free frees */
    struct user_entry *users; /* named users, in file order */
    size_t count;             /* entries used in users */
    size_t cap;               /* entries allocated in users */
    bool anonymous;           /* anonymous logins allowed */
    char *anon_root;          /* their root ("" = the server's --root) */
    char *anon_upload;        /* their upload directory, or NULL */
};

/* ---- small parsers shared by the file, --user and passwd --------------- */

static int valid_name(const char *s, size_t len)
{
    if (len == 0 || len > AUTH_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._@+-", c)))
            return 0;
    }
    return 1;
}

static int reserved_name(const char *s)
{
    return strcasecmp(s, "anonymous") == 0 || strcasecmp(s, "ftp") == 0;
}

/* A root is empty or absolute, without control characters. */
static int valid_root(const char *s)
{
    if (s[0] != '\0' && s[0] != '/')
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

int auth_parse_perms(const char *s, unsigned *perms)
{
    static const char letters[] = "lrwdnm"; /* bit i is letters[i] */
    unsigned p = 0;
    if (strcmp(s, "*") == 0) {
        *perms = FTP_PERM_ALL;
        return 0;
    }
    for (; *s; s++) {
        const char *at = strchr(letters, *s);
        if (!at)
            return -EINVAL;
        p |= 1u << (at - letters);
        if (*s == 'w')
            p |= FTP_PERM_ATTR; /* named writers keep SITE CHMOD and MFMT */
    }
    *perms = p;
    return 0;
}

void auth_format_perms(unsigned perms, char *out, size_t outlen)
{
    static const char letters[] = "lrwdnm";
    size_t n = 0;
    if (outlen == 0)
        return;
    if ((perms & FTP_PERM_ALL) == FTP_PERM_ALL && outlen > 1) {
        memcpy(out, "*", 2);
        return;
    }
    for (int i = 0; letters[i] && n + 1 < outlen; i++)
        if (perms & (1u << i))
            out[n++] = letters[i];
    out[n] = '\0';
}

/* 0 for a hash we can check, else a reason. */
static const char *hash_problem(const char *hash)
{
    if (hash[0] == '\0')
        return "empty password hash";
    if (hash[0] == '!' || hash[0] == '*')
        return NULL; /* a disabled account: fine, never matches */
    for (const char *p = hash; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return "the hash contains blanks or control characters";
#ifdef CRYPT_SALT_OK
    switch (crypt_checksalt(hash)) {
    case CRYPT_SALT_OK:
    case CRYPT_SALT_TOO_CHEAP:
        return NULL;
    case CRYPT_SALT_METHOD_LEGACY:
        return "legacy hash method (DES/MD5): make a new hash with "
               "`corio-ftpd passwd`";
    default:
        return "not a crypt(3) hash this libcrypt supports (make one with "
               "`corio-ftpd passwd`)";
    }
#else
    return hash[0] == '$' ? NULL
                          : "not a crypt(3) hash (make one with "
                            "`corio-ftpd passwd`)";
#endif
}

/* ---- the database ------------------------------------------------------- */

static struct userdb *userdb_new(void)
{
    struct userdb *db = calloc(1, sizeof *db);
    if (!db)
        return NULL;
    atomic_init(&db->refs, 1);
    return db;
}

static const struct user_entry *find_user(const struct userdb *db,
                                          const char *name)
{
    for (size_t i = 0; i < db->count; i++)
        if (strcmp(db->users[i].name, name) == 0)
            return &db->users[i];
    return NULL;
}

static int append_user(struct userdb *db, const char *name, const char *hash,
                       const char *root, unsigned perms, unsigned line)
{
    if (db->count == db->cap) {
        size_t cap = db->cap ? db->cap * 2 : 8;
        struct user_entry *u = realloc(db->users, cap * sizeof *u);
        if (!u)
            return -ENOMEM;
        db->users = u;
        db->cap = cap;
    }
    struct user_entry *e = &db->users[db->count];
    e->name = strdup(name);
    e->hash = strdup(hash);
    e->root = strdup(root ? root : "");
    e->perms = perms & FTP_PERM_ALL;
    e->line = line;
    if (!e->name || !e->hash || !e->root) {
        free(e->name);
        free(e->hash);
        free(e->root);
        return -ENOMEM;
    }
    db->count++;
    return 0;
}

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Parse one non-blank, non-comment line (modified in place). */
static int parse_line(struct userdb *db, char *line, const char *path,
                      unsigned lineno, char *err, size_t errlen)
{
    char *c1 = strchr(line, ':');
    char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char *c3 = c2 ? strrchr(c2 + 1, ':') : NULL;
    unsigned perms;

    if (!c3)
        return fail(err, errlen, -EINVAL,
                    "%s:%u: expected name:hash:root:perms", path, lineno);
    *c1 = *c2 = *c3 = '\0';
    const char *name = line, *hash = c1 + 1, *root = c2 + 1, *ps = c3 + 1;
    if (!valid_name(name, strlen(name)))
        return fail(err, errlen, -EINVAL,
                    "%s:%u: bad user name \"%.64s\" (1 to %d of A-Z a-z 0-9 "
                    "._@+-)",
                    path, lineno, name, AUTH_NAME_MAX);
    if (reserved_name(name))
        return fail(err, errlen, -EINVAL,
                    "%s:%u: \"%s\" is reserved for anonymous access "
                    "(--anonymous)",
                    path, lineno, name);
    const struct user_entry *dup = find_user(db, name);
    if (dup)
        return fail(err, errlen, -EINVAL,
                    "%s:%u: user \"%s\" already defined on line %u", path,
                    lineno, name, dup->line);
    const char *why = hash_problem(hash);
    if (why)
        return fail(err, errlen, -EINVAL, "%s:%u: %s", path, lineno, why);
    if (!valid_root(root))
        return fail(err, errlen, -EINVAL,
                    "%s:%u: root must be an absolute path (or empty for "
                    "the server's --root)",
                    path, lineno);
    if (auth_parse_perms(ps, &perms) < 0)
        return fail(err, errlen, -EINVAL,
                    "%s:%u: bad permissions \"%.16s\" (letters l r w d n m, "
                    "or *)",
                    path, lineno, ps);
    if (append_user(db, name, hash, root, perms, lineno) < 0)
        return fail(err, errlen, -ENOMEM, "%s:%u: out of memory", path, lineno);
    return 0;
}

static int load_file(struct userdb *db, const char *path, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        return fail(err, errlen, -e, "%s: %s", path, strerror(e));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int r = 0;
    while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (strlen(line) != (size_t)len) {
            r = fail(err, errlen, -EINVAL, "%s:%u: NUL byte in line", path,
                     lineno);
            break;
        }
        const char *p = line + strspn(line, " \t");
        if (*p == '\0' || *p == '#')
            continue;
        r = parse_line(db, line, path, lineno, err, errlen);
    }
    if (r == 0 && ferror(f))
        r = fail(err, errlen, -EIO, "%s: read error", path);
    if (line)
        explicit_bzero(line, cap);
    free(line);
    fclose(f);
    return r;
}

int userdb_load(struct userdb **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    struct userdb *db = userdb_new();
    if (!db)
        return fail(err, errlen, -ENOMEM, "out of memory");
    if (path) {
        int r = load_file(db, path, err, errlen);
        if (r < 0) {
            userdb_free(db);
            return r;
        }
    }
    *out = db;
    return 0;
}

int userdb_add(struct userdb *db, const char *name, const char *plain_password,
               const char *root, unsigned perms)
{
    char hash[CRYPT_OUTPUT_SIZE];
    if (!valid_name(name, strlen(name)) || reserved_name(name))
        return -EINVAL;
    if (root && !valid_root(root))
        return -EINVAL;
    if (find_user(db, name))
        return -EEXIST;
    int r = auth_hash_password(plain_password, hash, sizeof hash);
    if (r < 0)
        return r;
    return append_user(db, name, hash, root, perms, 0);
}

/* An upload directory: absolute, no empty, `.` or `..` components. */
static int valid_upload_dir(const char *s)
{
    if (s[0] != '/' || !valid_root(s))
        return 0;
    for (const char *p = s + 1; *p;) {
        const char *end = strchrnul(p, '/');
        size_t len = (size_t)(end - p);
        if (len == 0 || (len == 1 && p[0] == '.') ||
            (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p = *end ? end + 1 : end;
    }
    return 1;
}

int userdb_set_anonymous(struct userdb *db, const char *root,
                         const char *upload_dir)
{
    if (root && !valid_root(root))
        return -EINVAL;
    if (upload_dir && !valid_upload_dir(upload_dir))
        return -EINVAL;
    char *r = strdup(root ? root : "");
    char *u = upload_dir ? strdup(upload_dir) : NULL;
    if (!r || (upload_dir && !u)) {
        free(r);
        free(u);
        return -ENOMEM;
    }
    free(db->anon_root);
    free(db->anon_upload);
    db->anon_root = r;
    db->anon_upload = u;
    db->anonymous = true;
    return 0;
}

/* Compare a computed hash with the stored one without stopping early. */
static int same_hash(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/* Hash `password` with the settings of `hash` and compare. */
static int verify(const char *password, const char *hash)
{
    struct crypt_data *cd = calloc(1, sizeof *cd); /* 32 KiB: not on stack */
    if (!cd)
        return 0;
    const char *got = crypt_rn(password, hash, cd, sizeof *cd);
    int ok = got && got[0] != '*' && same_hash(got, hash);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return ok;
}

/* For an unknown or disabled user: a real hash of another user, checked and
 * ignored, so that the answer takes as long as for a known name. */
static const char *decoy_hash(const struct userdb *db)
{
    for (size_t i = 0; i < db->count; i++)
        if (db->users[i].hash[0] == '$')
            return db->users[i].hash;
    return NULL; /* nobody to tell apart */
}

static int fill_user(struct ftp_user *out, const char *name, const char *root,
                     const char *upload, unsigned perms, bool anonymous)
{
    snprintf(out->name, sizeof out->name, "%s", name);
    out->root = strdup(root);
    out->upload_dir = upload ? strdup(upload) : NULL;
    out->perms = perms;
    out->anonymous = anonymous;
    if (!out->root || (upload && !out->upload_dir)) {
        ftp_user_release(out);
        return -ENOMEM;
    }
    return 0;
}

int userdb_check(const struct userdb *db, const char *name,
                 const char *password, struct ftp_user *out)
{
    memset(out, 0, sizeof *out);
    if (!db || !name || !password)
        return -EACCES;
    if (db->anonymous && reserved_name(name))
        return fill_user(out, "anonymous", db->anon_root, db->anon_upload,
                         FTP_PERM_LIST | FTP_PERM_READ, true);
    const struct user_entry *u = find_user(db, name);
    int usable = u && u->hash[0] != '!' && u->hash[0] != '*';
    const char *hash = usable ? u->hash : decoy_hash(db);
    int ok = hash && verify(password, hash);
    if (!usable || !ok)
        return -EACCES;
    return fill_user(out, u->name, u->root, NULL, u->perms, false);
}

size_t userdb_count(const struct userdb *db)
{
    return db ? db->count : 0;
}

/* Warns on stderr when root is set but is not a directory. */
static int warn_root(const char *who, const char *root)
{
    struct stat st;
    if (!root || !*root || (stat(root, &st) == 0 && S_ISDIR(st.st_mode)))
        return 0;
    fprintf(stderr,
            "corio-ftpd: warning: %s: root %s is not a directory (%s): "
            "logins will fail until it exists\n",
            who, root, errno ? strerror(errno) : "not a directory");
    return 1;
}

int userdb_warn_roots(const struct userdb *db)
{
    int n = 0;
    for (size_t i = 0; db && i < db->count; i++) {
        char who[AUTH_NAME_MAX + 8];
        snprintf(who, sizeof who, "user %s", db->users[i].name);
        errno = 0;
        n += warn_root(who, db->users[i].root);
    }
    if (db && db->anonymous) {
        errno = 0;
        n += warn_root("anonymous", db->anon_root);
    }
    return n;
}

struct userdb *userdb_ref(struct userdb *db)
{
    if (db)
        atomic_fetch_add(&db->refs, 1);
    return db;
}

void userdb_free(struct userdb *db)
{
    if (!db || atomic_fetch_sub(&db->refs, 1) != 1)
        return;
    for (size_t i = 0; i < db->count; i++) {
        free(db->users[i].name);
        explicit_bzero(db->users[i].hash, strlen(db->users[i].hash));
        free(db->users[i].hash);
        free(db->users[i].root);
    }
    free(db->users);
    free(db->anon_root);
    free(db->anon_upload);
    free(db);
}

void ftp_user_release(struct ftp_user *u)
{
    free(u->root);
    free(u->upload_dir);
    u->root = NULL;
    u->upload_dir = NULL;
}

int ftp_user_allows(const struct ftp_user *u, unsigned perm, const char *vpath)
{
    if (u->anonymous && perm == FTP_PERM_ATTR)
        return 0;
    if (u->perms & perm)
        return 1;
    if (!u->anonymous || perm != FTP_PERM_WRITE || !u->upload_dir || !vpath)
        return 0;
    size_t n = strlen(u->upload_dir);
    while (n > 1 && u->upload_dir[n - 1] == '/')
        n--;
    if (n == 1) /* upload_dir "/": anywhere but the root itself */
        return vpath[0] == '/' && vpath[1] != '\0';
    return strncmp(vpath, u->upload_dir, n) == 0 && vpath[n] == '/' &&
           vpath[n + 1] != '\0';
}

int auth_hash_password(const char *password, char *out, size_t outlen)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt) &&
        !crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof salt))
        return -ENOSYS;
    struct crypt_data *cd = calloc(1, sizeof *cd);
    if (!cd)
        return -ENOMEM;
    const char *h = crypt_rn(password, salt, cd, sizeof *cd);
    int r = 0;
    if (!h || h[0] == '*')
        r = -ENOSYS;
    else if (strlen(h) >= outlen)
        r = -ERANGE;
    else
        memcpy(out, h, strlen(h) + 1);
    explicit_bzero(cd, sizeof *cd);
    free(cd);
    return r;
}

/* ---- corio-ftpd passwd -------------------------------------------------- */

/* Read one line (without its end) into buf; 1 on success, 0 at EOF, -1 if
 * it does not fit. */
static int read_line(FILE *in, char *buf, size_t len)
{
    if (!fgets(buf, (int)len, in))
        return 0;
    size_t n = strlen(buf);
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (!feof(in))
        return -1;
    if (n > 0 && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return 1;
}

/* Prompt on stderr and read a line from the terminal on stdin, not echoed. */
static int read_secret(const char *prompt, char *buf, size_t len)
{
    struct termios old, quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    int have_tc = tcgetattr(STDIN_FILENO, &old) == 0;
    if (have_tc) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        quiet.c_lflag |= ECHONL;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    int r = read_line(stdin, buf, len);
    if (have_tc)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    return r;
}

static int passwd_usage(FILE *to, int status)
{
    fprintf(to,
            "usage: corio-ftpd passwd NAME [ROOT [PERMS]]\n"
            "Prints a users-file line NAME:HASH:ROOT:PERMS for the password\n"
            "typed at the prompt (or read as one line from stdin).\n"
            "  ROOT   absolute directory, empty (default) for --root\n"
            "  PERMS  letters l r w d n m (list read write delete rename\n"
            "         mkdir), or * for all (default)\n");
    return status;
}

int auth_passwd_main(int argc, char **argv)
{
    char pw[1024], again[1024], hash[CRYPT_OUTPUT_SIZE], letters[8];
    unsigned perms = FTP_PERM_ALL;
    int status = 1, r;

    if (argc >= 2 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        return passwd_usage(stdout, 0);
    if (argc < 2 || argc > 4)
        return passwd_usage(stderr, 2);
    const char *name = argv[1], *root = argc > 2 ? argv[2] : "";
    if (!valid_name(name, strlen(name)) || reserved_name(name)) {
        fprintf(stderr,
                "corio-ftpd passwd: bad user name \"%s\" (1 to %d "
                "of A-Z a-z 0-9 ._@+-; not anonymous or ftp)\n",
                name, AUTH_NAME_MAX);
        return 2;
    }
    if (!valid_root(root) || strchr(root, '\n')) {
        fprintf(stderr, "corio-ftpd passwd: root must be an absolute path\n");
        return 2;
    }
    errno = 0;
    warn_root(name, root); /* a warning: the directory may come later */
    if (argc > 3 && auth_parse_perms(argv[3], &perms) < 0) {
        fprintf(stderr,
                "corio-ftpd passwd: bad permissions \"%s\" (letters "
                "l r w d n m, or *)\n",
                argv[3]);
        return 2;
    }
    if (isatty(STDIN_FILENO)) {
        r = read_secret("Password: ", pw, sizeof pw);
        if (r > 0 &&
            (r = read_secret("Retype password: ", again, sizeof again)) > 0 &&
            strcmp(pw, again) != 0) {
            fprintf(stderr, "corio-ftpd passwd: passwords differ\n");
            goto out;
        }
    } else {
        r = read_line(stdin, pw, sizeof pw);
    }
    if (r <= 0 || pw[0] == '\0') {
        fprintf(stderr, "corio-ftpd passwd: %s\n",
                r < 0 ? "password too long (1023 bytes at most)"
                      : "no password given");
        goto out;
    }
    if ((r = auth_hash_password(pw, hash, sizeof hash)) < 0) {
        fprintf(stderr, "corio-ftpd passwd: cannot hash: %s\n", strerror(-r));
        goto out;
    }
    auth_format_perms(perms, letters, sizeof letters);
    printf("%s:%s:%s:%s\n", name, hash, root, letters);
    status = fflush(stdout) == 0 ? 0 : 1;
out:
    explicit_bzero(pw, sizeof pw);
    explicit_bzero(again, sizeof again);
    return status;
}
