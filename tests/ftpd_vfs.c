/* corio-ftpd's path jail: client paths normalised, and no way out of the
 * root through `..`, absolute paths, symlinks (files, directories, dangling,
 * loops, swapped in while a lookup runs), NUL bytes or overlong names; with
 * openat2 and with the portable walk. Also temp files for uploads and rename.
 */
#include "../apps/corio-ftpd/vfs.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static char base[256];    /* the test's temporary directory */
static char rootdir[300]; /* base/root: the jail */

static void path_of(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", base, rel);
}

static void write_file(const char *rel, const char *text)
{
    char p[512];
    path_of(p, sizeof p, rel);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void make_dir(const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    CHECK(mkdir(p, 0755) == 0);
}

static void make_link(const char *target, const char *rel)
{
    char p[512];
    path_of(p, sizeof p, rel);
    CHECK(symlink(target, p) == 0);
}

static int exists(const char *rel)
{
    char p[512];
    struct stat st;
    path_of(p, sizeof p, rel);
    return lstat(p, &st) == 0;
}

/* Read what an fd holds (small files), or "" on error. */
static const char *slurp(int fd)
{
    static char buf[256];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

static void expect_resolve(const char *cwd, const char *arg, const char *want)
{
    char out[VFS_PATH_MAX];
    int r = vfs_resolve(cwd, arg, out, sizeof out);
    if (r != 0)
        fprintf(stderr, "resolve(%s, %s) = %d\n", cwd, arg, r);
    CHECK_EQ(r, 0);
    CHECK_STREQ(out, want);
}

static void test_resolve(void)
{
    char out[VFS_PATH_MAX], big[2 * VFS_PATH_MAX], name[NAME_MAX + 2];

    expect_resolve("/", "..", "/");
    expect_resolve("/", "../../etc/passwd", "/etc/passwd");
    expect_resolve("/a/b", "../../../..", "/");
    expect_resolve("/a", "b/./c//d/", "/a/b/c/d");
    expect_resolve("/a", "/x/../y", "/y");
    expect_resolve("/a", "//x///y//", "/x/y");
    expect_resolve("/a/b", "", "/a/b");
    expect_resolve("/a/b", NULL, "/a/b");
    expect_resolve(NULL, "f", "/f");
    expect_resolve("/", "...", "/...");
    expect_resolve("/", "a/..b/.c", "/a/..b/.c");
    expect_resolve("/", "caf\xc3\xa9 x", "/caf\xc3\xa9 x");

    CHECK_EQ(vfs_resolve("/", "a\nb", out, sizeof out), -EINVAL);
    CHECK_EQ(vfs_resolve("/", "a\rb", out, sizeof out), -EINVAL);
    CHECK_EQ(vfs_resolve("/", "a\x7f", out, sizeof out), -EINVAL);
    CHECK_EQ(vfs_resolve("/", "a\tb", out, sizeof out), -EINVAL);
    CHECK_EQ(vfs_resolve_len("/", "a\0/../../b", 10, out, sizeof out), -EINVAL);
    CHECK_EQ(vfs_resolve_len("/", "ab", 2, out, sizeof out), 0);
    CHECK_STREQ(out, "/ab");

    /* Components: NAME_MAX is fine, one more is not. */
    memset(name, 'n', NAME_MAX);
    name[NAME_MAX] = '\0';
    CHECK_EQ(vfs_resolve("/", name, out, sizeof out), 0);
    CHECK_EQ(strlen(out), NAME_MAX + 1);
    name[NAME_MAX] = 'n';
    name[NAME_MAX + 1] = '\0';
    CHECK_EQ(vfs_resolve("/", name, out, sizeof out), -ENAMETOOLONG);

    /* Whole paths: beyond VFS_PATH_MAX, or beyond the caller's buffer. */
    for (size_t i = 0; i + 2 < sizeof big; i += 2)
        memcpy(big + i, "a/", 2);
    big[sizeof big - 2] = '\0';
    CHECK_EQ(vfs_resolve("/", big, out, sizeof out), -ENAMETOOLONG);
    char small[8];
    CHECK_EQ(vfs_resolve("/", "abcdefgh", small, sizeof small), -ENAMETOOLONG);
    CHECK_EQ(vfs_resolve("/", "abcdef", small, sizeof small), 0);
    CHECK_STREQ(small, "/abcdef");

    /* Output may be the cwd buffer itself, and is untouched on errors. */
    char cwd[VFS_PATH_MAX] = "/a/b";
    CHECK_EQ(vfs_resolve(cwd, "../c", cwd, sizeof cwd), 0);
    CHECK_STREQ(cwd, "/a/c");
    CHECK_EQ(vfs_resolve(cwd, "x\ny", cwd, sizeof cwd), -EINVAL);
    CHECK_STREQ(cwd, "/a/c");
}

/* The tree: base/outside/secret (must stay out of reach) and base/root. */
static void build_tree(void)
{
    make_dir("outside");
    write_file("outside/secret", "outside-secret");
    make_dir("root");
    make_dir("root/dir");
    write_file("root/dir/file", "inside-file");
    make_link("../outside/secret", "root/link_out_file");
    char abs[512];
    path_of(abs, sizeof abs, "outside/secret");
    make_link(abs, "root/link_out_abs");
    make_link("../outside", "root/link_out_dir");
    make_link("dir/../../outside/secret", "root/link_out_deep");
    make_link("../outside/created", "root/dangle_out");
    make_link("dir/file", "root/link_in");
    make_link("../dir/file", "root/dir/link_up");
    make_link("dir", "root/link_dir");
    make_link("loop2", "root/loop1");
    make_link("loop1", "root/loop2");
    make_link("dir/new_by_link", "root/dangle_in");
}

static void test_escapes(const struct vfs *v)
{
    struct stat st;
    DIR *d;
    char secret_mode_path[512];
    path_of(secret_mode_path, sizeof secret_mode_path, "outside/secret");

    /* `..` and absolute paths are lexical: they land inside the root. */
    CHECK_EQ(vfs_open(v, "/../outside/secret", O_RDONLY, 0), -ENOENT);
    CHECK_EQ(vfs_open(v, "../../../../../etc/passwd", O_RDONLY, 0), -ENOENT);

    /* Symlinks pointing out: files, directories, absolute, deep. */
    CHECK_EQ(vfs_open(v, "/link_out_file", O_RDONLY, 0), -EXDEV);
    CHECK_EQ(vfs_open(v, "/link_out_abs", O_RDONLY, 0), -EXDEV);
    CHECK_EQ(vfs_open(v, "/link_out_deep", O_RDONLY, 0), -EXDEV);
    CHECK_EQ(vfs_open(v, "/link_out_dir/secret", O_RDONLY, 0), -EXDEV);
    CHECK_EQ(vfs_stat(v, "/link_out_file", &st), -EXDEV);
    CHECK_EQ(vfs_stat(v, "/link_out_dir", &st), -EXDEV);
    CHECK_EQ(vfs_opendir(v, "/link_out_dir", &d), -EXDEV);
    CHECK_EQ(vfs_mkdir(v, "/link_out_dir/sub", 0755), -EXDEV);
    CHECK_EQ(vfs_unlink(v, "/link_out_dir/secret"), -EXDEV);
    CHECK_EQ(vfs_chmod(v, "/link_out_file", 0777), -EXDEV);
    CHECK_EQ(vfs_set_mtime(v, "/link_out_file", 1000), -EXDEV);
    CHECK_EQ(vfs_rename(v, "/dir/file", "/link_out_dir/stolen"), -EXDEV);
    CHECK_EQ(vfs_open(v, "/link_out_dir/new", O_WRONLY | O_CREAT, 0644),
             -EXDEV);
    CHECK_EQ(vfs_open(v, "/dangle_out", O_WRONLY | O_CREAT, 0644), -EXDEV);
    char tmp[VFS_PATH_MAX];
    CHECK_EQ(vfs_mktemp(v, "/link_out_dir/up", tmp, sizeof tmp), -EXDEV);
    CHECK(!exists("outside/new") && !exists("outside/created"));
    CHECK(!exists("outside/stolen") && !exists("outside/sub"));
    CHECK(exists("outside/secret"));
    CHECK(stat(secret_mode_path, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0644);
    CHECK(st.st_mtime != 1000);

    /* The link itself is an entry of the root: lstat sees it. */
    CHECK_EQ(vfs_lstat(v, "/link_out_file", &st), 0);
    CHECK(S_ISLNK(st.st_mode));

    /* Loops and links used as directories. */
    CHECK_EQ(vfs_open(v, "/loop1", O_RDONLY, 0), -ELOOP);
    CHECK_EQ(vfs_open(v, "/link_in/x", O_RDONLY, 0), -ENOTDIR);
    CHECK_EQ(vfs_open(v, "/dir/file/x", O_RDONLY, 0), -ENOTDIR);
    CHECK_EQ(vfs_open(v, "/nope", O_RDONLY, 0), -ENOENT);
}

static void test_inside(const struct vfs *v)
{
    struct stat st;
    int fd;

    /* Links that stay inside work, also through `..`. */
    CHECK((fd = vfs_open(v, "/link_in", O_RDONLY, 0)) >= 0);
    CHECK_STREQ(slurp(fd), "inside-file");
    close(fd);
    CHECK((fd = vfs_open(v, "/dir/link_up", O_RDONLY, 0)) >= 0);
    CHECK_STREQ(slurp(fd), "inside-file");
    close(fd);
    CHECK((fd = vfs_open(v, "/link_dir/file", O_RDONLY, 0)) >= 0);
    CHECK_STREQ(slurp(fd), "inside-file");
    close(fd);
    CHECK_EQ(vfs_stat(v, "/link_dir", &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(vfs_stat(v, "/", &st), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(vfs_lstat(v, "/", &st), 0);
    CHECK_EQ(vfs_open(v, "/dir/file", O_RDONLY | O_NOFOLLOW, 0) >= 0, 1);
    fd = vfs_open(v, "/link_in", O_RDONLY | O_NOFOLLOW, 0);
    CHECK_EQ(fd, -ELOOP);

    /* Creating through a dangling link that stays inside. */
    CHECK((fd = vfs_open(v, "/dangle_in", O_WRONLY | O_CREAT, 0644)) >= 0);
    close(fd);
    CHECK(exists("root/dir/new_by_link"));
    CHECK_EQ(vfs_unlink(v, "/dir/new_by_link"), 0);
    CHECK_EQ(vfs_open(v, "/dir/file", O_WRONLY | O_CREAT | O_EXCL, 0644),
             -EEXIST);

    /* Directories. */
    CHECK_EQ(vfs_mkdir(v, "/d2", 0755), 0);
    CHECK_EQ(vfs_mkdir(v, "/d2", 0755), -EEXIST);
    CHECK_EQ(vfs_mkdir(v, "/", 0755), -EEXIST);
    CHECK_EQ(vfs_rmdir(v, "/"), -EBUSY);
    CHECK_EQ(vfs_unlink(v, "/"), -EISDIR);
    DIR *d;
    CHECK_EQ(vfs_opendir(v, "/dir", &d), 0);
    int seen = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        seen += strcmp(e->d_name, "file") == 0;
    closedir(d);
    CHECK_EQ(seen, 1);
    CHECK_EQ(vfs_opendir(v, "/dir/file", &d), -ENOTDIR);

    /* chmod and mtime, through an inside link too. */
    CHECK_EQ(vfs_chmod(v, "/link_in", 0600), 0);
    CHECK_EQ(vfs_stat(v, "/dir/file", &st), 0);
    CHECK_EQ(st.st_mode & 07777, 0600);
    CHECK_EQ(vfs_set_mtime(v, "/dir/file", 1234567890), 0);
    CHECK_EQ(vfs_stat(v, "/dir/file", &st), 0);
    CHECK_EQ(st.st_mtime, 1234567890);

    /* Unlink of a link removes the link, not the target. */
    CHECK_EQ(vfs_unlink(v, "/link_out_file"), 0);
    CHECK(!exists("root/link_out_file") && exists("outside/secret"));
    CHECK_EQ(vfs_rmdir(v, "/d2"), 0);
}

static void test_temp_and_rename(const struct vfs *v)
{
    char t1[VFS_PATH_MAX], t2[VFS_PATH_MAX], longname[NAME_MAX + 2];
    struct stat st;

    int fd1 = vfs_mktemp(v, "/dir/upload.bin", t1, sizeof t1);
    int fd2 = vfs_mktemp(v, "/dir/upload.bin", t2, sizeof t2);
    CHECK(fd1 >= 0 && fd2 >= 0);
    CHECK(strcmp(t1, t2) != 0);
    CHECK_EQ(strncmp(t1, "/dir/.upload.bin.", 17), 0);
    CHECK_EQ(strlen(t1), strlen("/dir/.upload.bin.XXXXXX.part"));
    CHECK(vfs_is_temp_name(strrchr(t1, '/') + 1));
    CHECK(!vfs_is_temp_name("upload.bin"));
    CHECK(!vfs_is_temp_name(".upload.bin.part"));
    CHECK(write(fd1, "new data", 8) == 8);
    close(fd1);
    close(fd2);
    CHECK_EQ(vfs_lstat(v, t1, &st), 0);
    CHECK_EQ(st.st_size, 8);

    /* Rename onto the target replaces it; the temp name is gone. */
    CHECK_EQ(vfs_rename(v, t1, "/dir/file"), 0);
    int fd = vfs_open(v, "/dir/file", O_RDONLY, 0);
    CHECK(fd >= 0);
    CHECK_STREQ(slurp(fd), "new data");
    close(fd);
    CHECK_EQ(vfs_lstat(v, t1, &st), -ENOENT);
    CHECK_EQ(vfs_unlink(v, t2), 0);
    CHECK_EQ(vfs_rename(v, "/dir/nope", "/dir/x"), -ENOENT);
    CHECK_EQ(vfs_rename(v, "/", "/x"), -EBUSY);
    CHECK_EQ(vfs_rename(v, "/dir", "/dir2"), 0);
    CHECK_EQ(vfs_rename(v, "/dir2", "/dir"), 0);

    /* A NAME_MAX name still gets a temp name that fits, in the root. */
    memset(longname, 'L', NAME_MAX);
    longname[0] = '/';
    longname[NAME_MAX] = 'L';
    longname[NAME_MAX + 1] = '\0';
    CHECK((fd = vfs_mktemp(v, longname, t1, sizeof t1)) >= 0);
    close(fd);
    CHECK_EQ(strlen(strrchr(t1, '/') + 1), NAME_MAX);
    CHECK_EQ(t1[0], '/');
    CHECK(strchr(t1 + 1, '/') == NULL);
    CHECK_EQ(vfs_unlink(v, t1), 0);
    CHECK_EQ(vfs_mktemp(v, "/", t1, sizeof t1), -EISDIR);
    CHECK_EQ(vfs_mktemp(v, "/dir/x", t1, 10), -ENAMETOOLONG);
}

/* RENAME_NOREPLACE never replaces; vfs_open_regular never opens (nor waits
 * on) a FIFO, in both resolver modes. */
static void test_noreplace_and_regular(const struct vfs *v)
{
    struct stat st;
    char fifo[600];
    write_file("root/nr_a", "a");
    write_file("root/nr_b", "b");
    CHECK_EQ(vfs_rename_noreplace(v, "/nr_a", "/nr_b"), -EEXIST);
    CHECK(exists("root/nr_a") && exists("root/nr_b"));
    CHECK_EQ(vfs_rename_noreplace(v, "/nr_a", "/nr_c"), 0);
    CHECK(!exists("root/nr_a") && exists("root/nr_c"));
    int fd = vfs_open_regular(v, "/nr_c", O_RDONLY, 0, &st);
    CHECK(fd >= 0);
    CHECK_STREQ(slurp(fd), "a");
    CHECK_EQ(st.st_size, 1);
    CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK));
    close(fd);
    path_of(fifo, sizeof fifo, "root/nr_fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    CHECK_EQ(vfs_open_regular(v, "/nr_fifo", O_RDONLY, 0, &st), -ENODEV);
    CHECK_EQ(vfs_open_regular(v, "/nr_fifo", O_WRONLY | O_CREAT, 0666, &st),
             -ENODEV);
    CHECK_EQ(vfs_open_regular(v, "/dir", O_RDONLY, 0, &st), -ENODEV);
    CHECK_EQ(vfs_open_regular(v, "/nr_none", O_RDONLY, 0, &st), -ENOENT);
    fd = vfs_open_regular(v, "/nr_new", O_WRONLY | O_CREAT, 0666, &st);
    CHECK(fd >= 0 && S_ISREG(st.st_mode));
    close(fd);
    CHECK(vfs_is_temp_name(VFS_KEPT_DIR));
    static const char *const made[] = {"/nr_b", "/nr_c", "/nr_fifo", "/nr_new"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++)
        CHECK_EQ(vfs_unlink(v, made[i]), 0);
}

/* A thread swaps root/swap (a directory holding "inside") and root/swaplink
 * (a link to ../outside) atomically, again and again, while lookups go
 * through "/swap/secret": each must read "inside" or fail, never leak. */
static atomic_int stop_swapping;

static void *swapper(void *arg)
{
    char a[512], b[512];
    (void)arg;
    path_of(a, sizeof a, "root/swap");
    path_of(b, sizeof b, "root/swaplink");
    while (!atomic_load(&stop_swapping))
        if (renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) < 0)
            return (void *)1;
    return NULL;
}

static void test_race(const struct vfs *v, int rounds)
{
    pthread_t t;
    int inside = 0, refused = 0;
    atomic_store(&stop_swapping, 0);
    CHECK(pthread_create(&t, NULL, swapper, NULL) == 0);
    for (int i = 0; i < rounds; i++) {
        int fd = vfs_open(v, "/swap/secret", O_RDONLY, 0);
        if (fd < 0) {
            CHECK(fd == -EXDEV || fd == -ENOENT || fd == -ENOTDIR ||
                  fd == -EAGAIN);
            refused++;
            continue;
        }
        const char *got = slurp(fd);
        close(fd);
        if (strcmp(got, "inside") != 0)
            fprintf(stderr, "escaped: read \"%s\"\n", got);
        CHECK_STREQ(got, "inside");
        inside++;
    }
    atomic_store(&stop_swapping, 1);
    void *ret;
    CHECK(pthread_join(t, &ret) == 0);
    CHECK(ret == NULL);
    fprintf(stderr, "race: %d opened inside, %d refused\n", inside, refused);
}

/* Invariants of vfs_resolve on random inputs: a clean absolute path that
 * resolves to itself. */
static void test_resolve_random(void)
{
    static const char *parts[] = {"/",  "//",  ".",  "..", "a",
                                  "bb", "...", ".x", "c/", "/.."};
    char in[256], out[VFS_PATH_MAX], again[VFS_PATH_MAX];
    unsigned x = 42;
    for (int i = 0; i < 100000; i++) {
        size_t n = 0;
        int k = (int)((x = x * 1103515245u + 12345u) >> 16) % 12;
        in[0] = '\0';
        for (int j = 0; j < k; j++) {
            const char *p = parts[((x = x * 1103515245u + 12345u) >> 16) % 10];
            n += (size_t)snprintf(in + n, sizeof in - n, "%s", p);
        }
        CHECK_EQ(vfs_resolve(i % 2 ? "/d/e" : "/", in, out, sizeof out), 0);
        CHECK_EQ(out[0], '/');
        CHECK(strstr(out, "//") == NULL);
        CHECK(strstr(out, "/./") == NULL && strstr(out, "/../") == NULL);
        size_t len = strlen(out);
        CHECK(len == 1 || out[len - 1] != '/');
        CHECK(len < 2 || strcmp(out + len - 2, "/.") != 0);
        CHECK(len < 3 || strcmp(out + len - 3, "/..") != 0);
        CHECK_EQ(vfs_resolve("/elsewhere", out, again, sizeof again), 0);
        CHECK_STREQ(again, out);
    }
}

/* Both resolvers agree: random paths through a tree of inside, outside,
 * upward and looping links give the same file or the same error. */
static void test_modes_agree(void)
{
    static const char *parts[] = {
        "dir", "link_dir", "link_in", "link_out_dir",  "up",  "..",
        ".",   "file",     "loop1",   "link_out_file", "sub", "nope"};
    struct vfs a, b;
    char path[512];
    unsigned x = 7;
    int same_file = 0;

    make_dir("root/dir/sub");
    make_link("..", "root/dir/up");
    make_link("../../dir", "root/dir/sub/back");
    CHECK_EQ(vfs_open_root(&a, rootdir), 0);
    CHECK_EQ(vfs_open_root(&b, rootdir), 0);
    if (!a.have_openat2) {
        vfs_close(&a);
        vfs_close(&b);
        return;
    }
    b.have_openat2 = 0;
    for (int i = 0; i < 10000; i++) {
        size_t n = 0;
        int k = 1 + (int)((x = x * 1103515245u + 12345u) >> 16) % 6;
        for (int j = 0; j < k; j++) {
            const char *p = parts[((x = x * 1103515245u + 12345u) >> 16) % 12];
            n += (size_t)snprintf(path + n, sizeof path - n, "/%s", p);
        }
        int flags = i % 3 == 0 ? O_PATH : O_RDONLY;
        int fa = vfs_open(&a, path, flags, 0);
        int fb = vfs_open(&b, path, flags, 0);
        if ((fa < 0) != (fb < 0) || (fa < 0 && fa != fb))
            fprintf(stderr, "%s: openat2 %d, walk %d\n", path, fa, fb);
        CHECK_EQ(fa < 0, fb < 0);
        if (fa < 0) {
            CHECK_EQ(fa, fb);
            continue;
        }
        struct stat sa, sb;
        CHECK(fstat(fa, &sa) == 0 && fstat(fb, &sb) == 0);
        CHECK(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
        same_file++;
        close(fa);
        close(fb);
    }
    fprintf(stderr, "modes agree: %d opened alike\n", same_file);
    vfs_close(&a);
    vfs_close(&b);
}

static void run_mode(const char *mode, int have_openat2)
{
    struct vfs v;
    build_tree();
    CHECK_EQ(vfs_open_root(&v, rootdir), 0);
    if (have_openat2 && !v.have_openat2) {
        fprintf(stderr, "openat2 unavailable here: walk only\n");
        vfs_close(&v);
        return;
    }
    v.have_openat2 = have_openat2;
    fprintf(stderr, "mode %s\n", mode);
    test_escapes(&v);
    test_inside(&v);
    test_temp_and_rename(&v);
    test_noreplace_and_regular(&v);
    make_dir("root/swap");
    write_file("root/swap/secret", "inside");
    make_link("../outside", "root/swaplink");
    test_race(&v, 20000);
    vfs_close(&v);
    vfs_close(&v); /* idempotent */
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static void clean_tree(void)
{
    char p[512];
    path_of(p, sizeof p, "root");
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    path_of(p, sizeof p, "outside");
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const char *tmpdir = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/ftpd_vfs.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    CHECK(mkdtemp(base) != NULL);
    snprintf(rootdir, sizeof rootdir, "%s/root", base);
    umask(022);

    int first_free = open("/dev/null", O_RDONLY); /* to detect fd leaks */
    CHECK(first_free >= 0);
    close(first_free);
    test_resolve();
    test_resolve_random();
    struct vfs bad;
    CHECK_EQ(vfs_open_root(&bad, "/nonexistent/dir/for/sure"), -ENOENT);
    CHECK_EQ(bad.root_fd, -1);
    vfs_close(&bad);
    CHECK_EQ(vfs_open(&bad, "/x", O_RDONLY, 0), -EBADF);

    run_mode("openat2", 1);
    clean_tree();
    run_mode("walk", 0);
    clean_tree();
    build_tree();
    test_modes_agree();
    clean_tree();
    CHECK(rmdir(base) == 0);
    int fd = open("/dev/null", O_RDONLY);
    CHECK_EQ(fd, first_free);
    close(fd);
    puts("ftpd_vfs: ok");
    return 0;
}
