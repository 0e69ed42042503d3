/* corio-ftpd's users: the users file (good and bad lines, with the line
 * numbers in the messages), password checks right and wrong, anonymous
 * access, hashes from auth_hash_password and the `passwd` subcommand, and
 * concurrent checks from several threads. */
#include "../apps/corio-ftpd/auth.h"
#include "check.h"

#include <crypt.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[256];                      /* the test's temporary directory */
static char hash_alice[CRYPT_OUTPUT_SIZE]; /* of "wonderland" */
static int files;                          /* users files written so far */

/* Write `text` to a new users file and return its path (static buffer). */
static const char *users_file(const char *text, size_t len)
{
    static char path[300];
    snprintf(path, sizeof path, "%s/users%d", dir, files++);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fwrite(text, 1, len, f) == len);
    fclose(f);
    return path;
}

static void test_hash(void)
{
    char h1[CRYPT_OUTPUT_SIZE], h2[CRYPT_OUTPUT_SIZE], small[16];
    CHECK_EQ(auth_hash_password("wonderland", h1, sizeof h1), 0);
    CHECK_EQ(auth_hash_password("wonderland", h2, sizeof h2), 0);
    CHECK(strncmp(h1, "$y$", 3) == 0 || strncmp(h1, "$6$", 3) == 0);
    CHECK(strcmp(h1, h2) != 0); /* fresh salt each time */
    CHECK(strchr(h1, ':') == NULL && strchr(h1, '\n') == NULL);
#ifdef CRYPT_SALT_OK
    CHECK_EQ(crypt_checksalt(h1), CRYPT_SALT_OK);
#endif
    CHECK_EQ(auth_hash_password("x", small, sizeof small), -ERANGE);
    memcpy(hash_alice, h1, sizeof h1);
}

static void test_perms(void)
{
    unsigned p;
    char s[8];
    CHECK_EQ(auth_parse_perms("lr", &p), 0);
    CHECK_EQ(p, FTP_PERM_LIST | FTP_PERM_READ);
    CHECK_EQ(auth_parse_perms("*", &p), 0);
    CHECK_EQ(p, FTP_PERM_ALL);
    CHECK_EQ(auth_parse_perms("", &p), 0);
    CHECK_EQ(p, 0);
    CHECK_EQ(auth_parse_perms("lrx", &p), -EINVAL);
    CHECK_EQ(auth_parse_perms("mdnwrl", &p), 0);
    CHECK_EQ(p, FTP_PERM_ALL);
    auth_format_perms(p, s, sizeof s);
    CHECK_STREQ(s, "*");
    auth_format_perms(FTP_PERM_WRITE | FTP_PERM_MKDIR | FTP_PERM_LIST, s,
                      sizeof s);
    CHECK_STREQ(s, "lwm");
}

static void test_good_file(void)
{
    char text[2048], err[256];
    struct userdb *db;
    struct ftp_user u;

    int n = snprintf(text, sizeof text,
                     "# corio-ftpd users\n"
                     "\n"
                     "   # indented comment\n"
                     "alice:%s:/srv/a:b:lr\r\n"
                     "bob.smith@example-1:%s::*\n"
                     "carol:!%s:/srv/c:lrw\n"
                     "dan:%s:/srv/d:",
                     hash_alice, hash_alice, hash_alice, hash_alice);
    CHECK_EQ(userdb_load(&db, users_file(text, (size_t)n), err, sizeof err), 0);
    CHECK_EQ(userdb_count(db), 4);

    CHECK_EQ(userdb_check(db, "alice", "wonderland", &u), 0);
    CHECK_STREQ(u.name, "alice");
    CHECK_STREQ(u.root, "/srv/a:b"); /* a ':' in the root is fine */
    CHECK_EQ(u.perms, FTP_PERM_LIST | FTP_PERM_READ);
    CHECK(!u.anonymous && u.upload_dir == NULL);
    CHECK(ftp_user_allows(&u, FTP_PERM_READ, "/x"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_WRITE, "/x"));
    ftp_user_release(&u);
    ftp_user_release(&u); /* idempotent */

    CHECK_EQ(userdb_check(db, "bob.smith@example-1", "wonderland", &u), 0);
    CHECK_STREQ(u.root, "");
    CHECK_EQ(u.perms, FTP_PERM_ALL);
    ftp_user_release(&u);
    CHECK_EQ(userdb_check(db, "dan", "wonderland", &u), 0);
    CHECK_EQ(u.perms, 0);
    ftp_user_release(&u);

    CHECK_EQ(userdb_check(db, "alice", "Wonderland", &u), -EACCES);
    CHECK_EQ(userdb_check(db, "alice", "", &u), -EACCES);
    CHECK_EQ(userdb_check(db, "Alice", "wonderland", &u), -EACCES);
    CHECK_EQ(userdb_check(db, "mallory", "wonderland", &u), -EACCES);
    CHECK_EQ(userdb_check(db, "carol", "wonderland", &u), -EACCES);
    CHECK_EQ(userdb_check(db, "alice", NULL, &u), -EACCES);
    CHECK_EQ(userdb_check(db, "anonymous", "me@x", &u), -EACCES);

    /* Anonymous, once enabled: any password, read-only, upload dir. */
    CHECK_EQ(userdb_set_anonymous(db, "/pub", "/../x"), -EINVAL);
    CHECK_EQ(userdb_set_anonymous(db, "pub", NULL), -EINVAL);
    CHECK_EQ(userdb_set_anonymous(db, "/pub", "/incoming"), 0);
    CHECK_EQ(userdb_check(db, "anonymous", "me@example.org", &u), 0);
    CHECK(u.anonymous);
    CHECK_STREQ(u.root, "/pub");
    CHECK_STREQ(u.upload_dir, "/incoming");
    CHECK_EQ(u.perms, FTP_PERM_LIST | FTP_PERM_READ);
    CHECK(ftp_user_allows(&u, FTP_PERM_WRITE, "/incoming/new.bin"));
    CHECK(ftp_user_allows(&u, FTP_PERM_WRITE, "/incoming/sub/f"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_WRITE, "/incoming"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_WRITE, "/incomingx/f"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_WRITE, "/f"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_DELETE, "/incoming/new.bin"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_MKDIR, "/incoming/d"));
    CHECK(!ftp_user_allows(&u, FTP_PERM_ATTR, "/incoming/new.bin"));
    ftp_user_release(&u);
    CHECK_EQ(userdb_check(db, "FTP", "", &u), 0);
    CHECK(u.anonymous);
    ftp_user_release(&u);
    CHECK_EQ(userdb_set_anonymous(db, NULL, NULL), 0);
    CHECK_EQ(userdb_check(db, "ftp", "x", &u), 0);
    CHECK_STREQ(u.root, "");
    CHECK(!ftp_user_allows(&u, FTP_PERM_WRITE, "/incoming/new.bin"));
    ftp_user_release(&u);

    /* --user NAME:PASSWORD. */
    CHECK_EQ(userdb_add(db, "erin", "pw", NULL, FTP_PERM_ALL), 0);
    CHECK_EQ(userdb_add(db, "erin", "pw", NULL, FTP_PERM_ALL), -EEXIST);
    CHECK_EQ(userdb_add(db, "alice", "pw", NULL, FTP_PERM_ALL), -EEXIST);
    CHECK_EQ(userdb_add(db, "bad name", "pw", NULL, 0), -EINVAL);
    CHECK_EQ(userdb_add(db, "ftp", "pw", NULL, 0), -EINVAL);
    CHECK_EQ(userdb_add(db, "frank", "pw", "rel/root", 0), -EINVAL);
    CHECK_EQ(userdb_check(db, "erin", "pw", &u), 0);
    ftp_user_release(&u);
    CHECK_EQ(userdb_check(db, "erin", "pw2", &u), -EACCES);
    CHECK_EQ(userdb_count(db), 5);

    /* References. */
    struct userdb *again = userdb_ref(db);
    userdb_free(db);
    CHECK_EQ(userdb_check(again, "erin", "pw", &u), 0);
    ftp_user_release(&u);
    userdb_free(again);
    userdb_free(NULL);
}

/* One bad file: load fails with -EINVAL and a message naming the line. */
static void expect_bad(const char *text, size_t len, unsigned line,
                       const char *phrase)
{
    char err[256], where[320];
    struct userdb *db = (struct userdb *)1;
    const char *path = users_file(text, len);
    int r = userdb_load(&db, path, err, sizeof err);
    if (r != -EINVAL || !strstr(err, phrase))
        fprintf(stderr, "bad file %d: r=%d err=\"%s\"\n", files - 1, r, err);
    CHECK_EQ(r, -EINVAL);
    CHECK(db == NULL);
    snprintf(where, sizeof where, "%s:%u: ", path, line);
    CHECK(strncmp(err, where, strlen(where)) == 0);
    CHECK(strstr(err, phrase) != NULL);
}

static void test_bad_files(void)
{
    char t[2048], err[256];
    struct userdb *db;
    const char *h = hash_alice;
    int n;

#define BAD(line, phrase, ...)                                                 \
    n = snprintf(t, sizeof t, __VA_ARGS__);                                    \
    expect_bad(t, (size_t)n, line, phrase)

    BAD(2, "expected name:hash:root:perms", "# c\nalice\n");
    BAD(1, "expected name:hash:root:perms", "alice:%s:lr\n", h);
    BAD(3, "bad user name", "\n\nal ice:%s:/x:lr\n", h);
    BAD(1, "bad user name", ":%s:/x:lr\n", h);
    BAD(1, "bad user name",
        "a123456789a123456789a123456789a123456789a123456789a123456789abcde:"
        "%s:/x:lr\n",
        h);
    BAD(2, "already defined on line 1", "alice:%s:/x:lr\nalice:%s:/y:l\n", h,
        h);
    BAD(1, "reserved", "anonymous:%s:/x:lr\n", h);
    BAD(1, "reserved", "FTP:%s:/x:lr\n", h);
    BAD(1, "empty password hash", "alice::/x:lr\n");
    BAD(1, "hash", "alice:plaintext:/x:lr\n");
    BAD(1, "hash", "alice:abJnggxhB/yWI:/x:lr\n");
    BAD(1, "blanks", "alice:$y$ j9T:/x:lr\n");
    BAD(1, "root must be an absolute path", "alice:%s:srv/a:lr\n", h);
    BAD(1, "bad permissions", "alice:%s:/x:lrx\n", h);
    BAD(1, "bad permissions", "alice:%s:/x:l r\n", h);
    n = snprintf(t, sizeof t, "alice:%s:/x@:lr\n", h);
    *strchr(t, '@') = '\0';
    expect_bad(t, (size_t)n, 1, "NUL byte");

    CHECK_EQ(userdb_load(&db, "/nonexistent/users", err, sizeof err), -ENOENT);
    CHECK(strstr(err, "/nonexistent/users") != NULL);
    CHECK_EQ(userdb_load(&db, NULL, err, sizeof err), 0);
    CHECK_EQ(userdb_count(db), 0);
    userdb_free(db);
}

/* Several threads checking at once get the right answers. */
struct checker {
    struct userdb *db; /* shared database */
    int good;          /* right answers seen */
};

static void *check_many(void *arg)
{
    struct checker *c = arg;
    struct ftp_user u;
    for (int i = 0; i < 3; i++) {
        c->good += userdb_check(c->db, "alice", "wonderland", &u) == 0;
        ftp_user_release(&u);
        c->good += userdb_check(c->db, "alice", "wrong", &u) == -EACCES;
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_threads_and_timing(void)
{
    char text[1024], err[256];
    struct userdb *db;
    struct ftp_user u;
    int n = snprintf(text, sizeof text, "alice:%s::lr\n", hash_alice);
    CHECK_EQ(userdb_load(&db, users_file(text, (size_t)n), err, sizeof err), 0);
    struct checker c[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (struct checker){.db = db};
        CHECK(pthread_create(&t[i], NULL, check_many, &c[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(pthread_join(t[i], NULL) == 0);
        CHECK_EQ(c[i].good, 6);
    }
    /* An unknown name costs a hash too (generous bound: noisy machine). */
    double t0 = now_s();
    CHECK_EQ(userdb_check(db, "alice", "wrong", &u), -EACCES);
    double t1 = now_s();
    CHECK_EQ(userdb_check(db, "nobody", "wrong", &u), -EACCES);
    double t2 = now_s();
    fprintf(stderr, "check: known %.1f ms, unknown %.1f ms\n", (t1 - t0) * 1e3,
            (t2 - t1) * 1e3);
    CHECK((t2 - t1) * 20 > (t1 - t0));
    userdb_free(db);
}

/* Run `corio-ftpd passwd` with `input` on stdin; its stdout in `out`. */
static int run_passwd(int argc, char **argv, const char *input, char *out,
                      size_t outlen)
{
    int in[2], o[2];
    CHECK(pipe(in) == 0 && pipe(o) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(o[1], 1);
        close(in[0]), close(in[1]), close(o[0]), close(o[1]);
        if (!freopen("/dev/null", "w", stderr))
            _exit(99);
        _exit(auth_passwd_main(argc, argv));
    }
    close(in[0]);
    close(o[1]);
    /* A child refusing its arguments exits without reading: EPIPE then. */
    ssize_t w = write(in[1], input, strlen(input));
    CHECK(w == (ssize_t)strlen(input) || (w < 0 && errno == EPIPE));
    close(in[1]);
    size_t got = 0;
    ssize_t r;
    while (got + 1 < outlen &&
           (r = read(o[0], out + got, outlen - 1 - got)) > 0)
        got += (size_t)r;
    out[got] = '\0';
    close(o[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_passwd(void)
{
    char out[1024], err[256];
    struct userdb *db;
    struct ftp_user u;
    char *a1[] = {"passwd", "grace", NULL};
    char *a2[] = {"passwd", "heidi", "/srv/h", "lrw", NULL};
    char *bad_perms[] = {"passwd", "heidi", "/srv/h", "lrq", NULL};
    char *bad_name[] = {"passwd", "anonymous", NULL};
    char *bad_root[] = {"passwd", "x", "rel", NULL};
    char *none[] = {"passwd", NULL};

    CHECK_EQ(run_passwd(2, a1, "hunter2\n", out, sizeof out), 0);
    CHECK(strncmp(out, "grace:$", 7) == 0);
    CHECK(strstr(out, "::*\n") != NULL);
    CHECK_EQ(userdb_load(&db, users_file(out, strlen(out)), err, sizeof err),
             0);
    CHECK_EQ(userdb_check(db, "grace", "hunter2", &u), 0);
    CHECK_EQ(u.perms, FTP_PERM_ALL);
    ftp_user_release(&u);
    CHECK_EQ(userdb_check(db, "grace", "hunter2\n", &u), -EACCES);
    userdb_free(db);

    CHECK_EQ(run_passwd(4, a2, "s3cret pass\r\n", out, sizeof out), 0);
    CHECK(strstr(out, ":/srv/h:lrw\n") != NULL);
    CHECK_EQ(userdb_load(&db, users_file(out, strlen(out)), err, sizeof err),
             0);
    CHECK_EQ(userdb_check(db, "heidi", "s3cret pass", &u), 0);
    CHECK_STREQ(u.root, "/srv/h");
    ftp_user_release(&u);
    userdb_free(db);

    CHECK_EQ(run_passwd(4, bad_perms, "x\n", out, sizeof out), 2);
    CHECK_EQ(run_passwd(2, bad_name, "x\n", out, sizeof out), 2);
    CHECK_EQ(run_passwd(3, bad_root, "x\n", out, sizeof out), 2);
    CHECK_EQ(run_passwd(1, none, "x\n", out, sizeof out), 2);
    CHECK_EQ(run_passwd(2, a1, "", out, sizeof out), 1);
    CHECK_EQ(run_passwd(2, a1, "\n", out, sizeof out), 1);
    CHECK_STREQ(out, "");
}

int main(void)
{
    const char *tmpdir = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ftpd_auth.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    signal(SIGPIPE, SIG_IGN);

    test_hash();
    test_perms();
    test_good_file();
    test_bad_files();
    test_threads_and_timing();
    test_passwd();

    char p[300];
    for (int i = 0; i < files; i++) {
        snprintf(p, sizeof p, "%s/users%d", dir, i);
        CHECK(unlink(p) == 0);
    }
    CHECK(rmdir(dir) == 0);
    puts("ftpd_auth: ok");
    return 0;
}
