/* corio-ftpd's listings and transfer log: `ls -l` lines as clients parse
 * them (recent and old dates, future dates, mode letters), RFC 3659 facts,
 * names that would break a reply, and xferlog lines. */
#include "../apps/corio-ftpd/listing.h"
#include "../apps/corio-ftpd/xferlog.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

static time_t utc(int y, int mon, int d, int h, int min, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mon - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = min,
                    .tm_sec = s};
    return timegm(&tm);
}

static struct stat file_stat(mode_t mode, off_t size, time_t mtime)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    st.st_nlink = 1;
    st.st_uid = 1000;
    st.st_gid = 100;
    st.st_size = size;
    st.st_mtime = mtime;
    st.st_dev = 0x803;
    st.st_ino = 0x2a1;
    return st;
}

/* Parse a LIST line the way clients do: 8 blank-separated fields, then the
 * name (which may hold blanks). */
static void parse_like_a_client(const char *line, const char *want_name,
                                long long want_size)
{
    char mode[16], owner[32], group[32], mon[8], timeyear[8];
    unsigned long links;
    long long size;
    int day, used = 0;
    CHECK_EQ(sscanf(line, "%15s %lu %31s %31s %lld %7s %d %7s %n", mode, &links,
                    owner, group, &size, mon, &day, timeyear, &used),
             8);
    CHECK_EQ(size, want_size);
    CHECK_STREQ(line + used, want_name);
}

static void test_ls(void)
{
    char buf[512];
    time_t t = utc(2025, 11, 26, 12, 0, 0);
    struct stat st = file_stat(S_IFREG | 0644, 1234, t);

    CHECK(listing_ls_line(buf, sizeof buf, "name", &st, t + 3600) > 0);
    CHECK_STREQ(buf, "-rw-r--r--    1 1000     100          1234 Nov 26 12:00 "
                     "name");
    /* Older than six months, or in the future: the year. */
    CHECK(listing_ls_line(buf, sizeof buf, "name", &st, t + 200 * 86400) > 0);
    CHECK_STREQ(buf, "-rw-r--r--    1 1000     100          1234 Nov 26  2025 "
                     "name");
    CHECK(listing_ls_line(buf, sizeof buf, "name", &st, t - 3600) > 0);
    CHECK(strstr(buf, " Nov 26  2025 name") != NULL);
    CHECK(listing_ls_line(buf, sizeof buf, "name", &st, t + 170 * 86400) > 0);
    CHECK(strstr(buf, " Nov 26 12:00 name") != NULL);
    st.st_mtime = utc(2024, 3, 6, 7, 5, 0);
    CHECK(listing_ls_line(buf, sizeof buf, "name", &st, st.st_mtime) > 0);
    CHECK(strstr(buf, " Mar  6 07:05 name") != NULL);

    /* Names with blanks survive a client's parse; big sizes too. */
    st.st_size = 107374182400LL;
    int n = listing_ls_line(buf, sizeof buf, "my  file.txt", &st, t);
    CHECK_EQ(n, (int)strlen(buf));
    parse_like_a_client(buf, "my  file.txt", 107374182400LL);

    /* Mode letters. */
    struct {
        mode_t mode;
        const char *want;
    } modes[] = {
        {S_IFDIR | 0755, "drwxr-xr-x"},  {S_IFDIR | 03775, "drwxrwsr-t"},
        {S_IFDIR | 01770, "drwxrwx--T"}, {S_IFREG | 04755, "-rwsr-xr-x"},
        {S_IFREG | 04644, "-rwSr--r--"}, {S_IFREG | 02640, "-rw-r-S---"},
        {S_IFLNK | 0777, "lrwxrwxrwx"},  {S_IFIFO | 0600, "prw-------"},
        {S_IFSOCK | 0666, "srw-rw-rw-"}, {S_IFREG | 0, "----------"},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        st.st_mode = modes[i].mode;
        CHECK(listing_ls_line(buf, sizeof buf, "x", &st, t) > 0);
        buf[10] = '\0';
        CHECK_STREQ(buf, modes[i].want);
    }

    /* Owner names, and a buffer too small. */
    st = file_stat(S_IFREG | 0644, 5, t);
    CHECK(listing_ls_line_owner(buf, sizeof buf, "f", &st, t, "ftp", "users") >
          0);
    CHECK_STREQ(buf, "-rw-r--r--    1 ftp      users           5 Nov 26 12:00 "
                     "f");
    CHECK_EQ(listing_ls_line(buf, 20, "f", &st, t), -ENAMETOOLONG);
    CHECK_STREQ(buf, "");
}

static void test_mlsx(void)
{
    char buf[512];
    time_t t = utc(2025, 11, 26, 12, 0, 7);
    struct stat st = file_stat(S_IFREG | 0644, 1234, t);
    st.st_uid = geteuid();

    CHECK(listing_mlsx_facts(buf, sizeof buf, "a file", &st, NULL) > 0);
    CHECK(strncmp(buf, "modify=20251126120007;perm=", 27) == 0);
    CHECK(strstr(buf, ";size=1234;type=file;unique=803U2a1;UNIX.mode=0644; "
                      "a file") != NULL);
    CHECK(strstr(buf, "perm=adfrw;") != NULL);

    CHECK(listing_mlsx_facts_perm(buf, sizeof buf, "f", &st, NULL,
                                  LISTING_MAY_LIST | LISTING_MAY_READ) > 0);
    CHECK(strstr(buf, ";perm=r;") != NULL);
    st.st_mode = S_IFREG | 0444;
    CHECK(listing_mlsx_facts(buf, sizeof buf, "f", &st, NULL) > 0);
    if (geteuid() != 0)
        CHECK(strstr(buf, ";perm=dfr;") != NULL);

    /* Directories: no size fact, directory letters, cdir/pdir types. */
    st.st_mode = S_IFDIR | 0755;
    CHECK(listing_mlsx_facts(buf, sizeof buf, "sub", &st, NULL) > 0);
    CHECK(strstr(buf, "size=") == NULL);
    CHECK(strstr(buf, ";perm=cdeflmp;type=dir;") != NULL);
    CHECK(listing_mlsx_facts(buf, sizeof buf, ".", &st, "cdir") > 0);
    CHECK(strstr(buf, ";type=cdir;") != NULL);
    CHECK(strcmp(buf + strlen(buf) - 3, "; .") == 0);
    CHECK(listing_mlsx_facts_perm(buf, sizeof buf, "d", &st, NULL,
                                  LISTING_MAY_LIST) > 0);
    CHECK(strstr(buf, ";perm=el;") != NULL);
    st.st_mode = S_IFLNK | 0777;
    CHECK(listing_mlsx_facts(buf, sizeof buf, "l", &st, NULL) > 0);
    CHECK(strstr(buf, ";type=OS.unix=symlink;") != NULL);
    CHECK_EQ(listing_mlsx_facts(buf, 30, "f", &st, NULL), -ENAMETOOLONG);
    CHECK_STREQ(buf, "");

    /* OPTS MLST: only the facts asked for, in their usual order. */
    st = file_stat(S_IFREG | 0644, 1234, t);
    unsigned keep = LISTING_FACT_TYPE | LISTING_FACT_SIZE;
    CHECK(listing_mlsx_facts_sel(buf, sizeof buf, "f", &st, NULL,
                                 LISTING_MAY_ALL, ~keep) > 0);
    CHECK_STREQ(buf, "size=1234;type=file; f");
    CHECK_EQ(listing_mlsx_facts_sel(buf, sizeof buf, "f", &st, NULL,
                                    LISTING_MAY_ALL, ~0u),
             2);
    CHECK_STREQ(buf, " f");
    CHECK_EQ(
        listing_mlsx_facts_sel(buf, 12, "f", &st, NULL, LISTING_MAY_ALL, ~keep),
        -ENAMETOOLONG);

    CHECK(listing_name_ok("ok name.txt"));
    CHECK(!listing_name_ok("a\nb"));
    CHECK(!listing_name_ok("a\rb"));
    CHECK(!listing_name_ok("\r\n226 forged"));
    CHECK(!listing_name_ok(""));
    CHECK(!listing_name_ok(NULL));
}

static void test_xferlog(void)
{
    char buf[512];
    struct xferlog_entry e = {
        .end = utc(2025, 11, 26, 12, 0, 0),
        .seconds = 2.4,
        .remote_host = "127.0.0.1",
        .bytes = 1048576,
        .path = "/pub/my file.bin",
        .direction = 'o',
        .user = "alice",
        .complete = 1,
    };
    int n = xferlog_format(buf, sizeof buf, &e);
    CHECK_EQ(n, (int)strlen(buf));
    CHECK_STREQ(buf, "Wed Nov 26 12:00:00 2025 2 127.0.0.1 1048576 "
                     "/pub/my_file.bin b _ o r alice ftp 0 * c\n");

    e = (struct xferlog_entry){
        .end = utc(2024, 3, 6, 7, 5, 9),
        .seconds = 0.01,
        .remote_host = "::1",
        .bytes = 0,
        .path = "/incoming/up\tload",
        .ascii = 1,
        .direction = 'i',
        .anonymous = 1,
        .user = "me @example.org",
        .complete = 0,
    };
    CHECK(xferlog_format(buf, sizeof buf, &e) > 0);
    CHECK_STREQ(buf, "Wed Mar  6 07:05:09 2024 1 ::1 0 /incoming/up_load a _ "
                     "i a me_@example.org ftp 0 * i\n");
    e.user = NULL;
    e.direction = 'd';
    CHECK(xferlog_format(buf, sizeof buf, &e) > 0);
    CHECK(strstr(buf, " a _ d a * ftp 0 * i\n") != NULL);
    /* Fourteen fields, whatever the names held. */
    int fields = 0;
    for (char *tok = strtok(buf, " \n"); tok; tok = strtok(NULL, " \n"))
        fields++;
    CHECK_EQ(fields, 18); /* the date itself is five */
    CHECK_EQ(xferlog_format(buf, 16, &e), -ENOSPC);
    CHECK_STREQ(buf, "");

    /* Appending to a file. */
    char path[256];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ftpd_xferlog.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_SETFL, O_APPEND) == 0);
    CHECK_EQ(xferlog_write(fd, &e), 0);
    CHECK_EQ(xferlog_write(fd, &e), 0);
    char back[512];
    ssize_t got = pread(fd, back, sizeof back - 1, 0);
    CHECK(got > 0);
    back[got] = '\0';
    CHECK_EQ(got, 2 * xferlog_format(buf, sizeof buf, &e));
    close(fd);
    unlink(path);
}

int main(void)
{
    setenv("TZ", "UTC", 1); /* xferlog uses local time, like wu-ftpd */
    tzset();
    test_ls();
    test_mlsx();
    test_xferlog();
    puts("ftpd_listing: ok");
    return 0;
}
