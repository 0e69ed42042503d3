/* corio-ftpd's HASH: SHA-256 of whole files and of ranges, checked against
 * known digests and against sha256sum(1) for a file of a few MiB. */
#include "../apps/corio-ftpd/hash.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <unistd.h>

#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

int main(void)
{
    char path[256], hex[65], cmd[512], want[80];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/ftpd_hash.XXXXXX",
             tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "xxabcyy", 7) == 7);

    if (!hash_available()) {
        CHECK_EQ(hash_sha256_fd(fd, 0, -1, hex), -ENOSYS);
        close(fd);
        unlink(path);
        CHECK_SKIP("built without libcrypto: HASH not offered");
    }
    CHECK_EQ(hash_sha256_fd(fd, 2, 5, hex), 0);
    CHECK_STREQ(hex, ABC);
    CHECK_EQ(hash_sha256_fd(fd, 3, 3, hex), 0);
    CHECK_STREQ(hex, EMPTY);
    CHECK_EQ(hash_sha256_fd(fd, 100, -1, hex), 0); /* past the end: empty */
    CHECK_STREQ(hex, EMPTY);
    CHECK_EQ(hash_sha256_fd(fd, 5, 2, hex), -EINVAL);
    CHECK_EQ(hash_sha256_fd(fd, -1, 2, hex), -EINVAL);
    CHECK_EQ(hash_sha256_fd(-1, 0, -1, hex), -EBADF);
    atomic_bool stop = true; /* set by another thread: no read at all */
    CHECK_EQ(hash_sha256_fd_until(fd, 0, -1, hex, &stop), -ECANCELED);
    atomic_store(&stop, false);
    CHECK_EQ(hash_sha256_fd_until(fd, 2, 5, hex, &stop), 0);
    CHECK_STREQ(hex, ABC);
    CHECK_EQ(lseek(fd, 0, SEEK_CUR), 7); /* the offset did not move */

    /* 3 MiB + 1 of varied bytes against sha256sum, whole and to a range
     * end past EOF. */
    CHECK(ftruncate(fd, 0) == 0);
    unsigned char block[4096];
    unsigned x = 12345;
    for (int i = 0; i < 768; i++) {
        for (size_t j = 0; j < sizeof block; j++)
            block[j] = (unsigned char)((x = x * 1103515245u + 12345u) >> 24);
        CHECK(pwrite(fd, block, sizeof block, (off_t)i * 4096) == 4096);
    }
    CHECK(pwrite(fd, "!", 1, 768 * 4096) == 1);
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(want, sizeof want, p)) {
        close(fd);
        unlink(path);
        CHECK_SKIP("sha256sum not available");
    }
    pclose(p);
    want[64] = '\0';
    CHECK_EQ(hash_sha256_fd(fd, 0, -1, hex), 0);
    CHECK_STREQ(hex, want);
    CHECK_EQ(hash_sha256_fd(fd, 0, 1 << 30, hex), 0);
    CHECK_STREQ(hex, want);
    close(fd);
    unlink(path);
    puts("ftpd_hash: ok");
    return 0;
}
