/* SHA-256 of file ranges: see hash.h. */
#include "hash.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(FTPD_HAVE_LIBCRYPTO) && defined(__has_include)
#if __has_include(<openssl/evp.h>)
#include <openssl/evp.h>
#define HASH_WITH_EVP 1
#endif
#endif

/* Bytes read per pread: large enough that syscalls do not dominate. */
#define HASH_CHUNK (256 * 1024)

#ifdef HASH_WITH_EVP
int hash_available(void)
{
    return 1;
}

static int digest_range(EVP_MD_CTX *ctx, int fd, off_t start, off_t end,
                        unsigned char *chunk, const atomic_bool *stop)
{
    off_t at = start;
    while (end < 0 || at < end) {
        if (stop && atomic_load(stop))
            return -ECANCELED;
        size_t want = HASH_CHUNK;
        if (end >= 0 && (off_t)want > end - at)
            want = (size_t)(end - at);
        ssize_t n = pread(fd, chunk, want, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break; /* end of file before `end`: hash what there is */
        if (EVP_DigestUpdate(ctx, chunk, (size_t)n) != 1)
            return -EIO;
        at += n;
    }
    return 0;
}

int hash_sha256_fd_until(int fd, off_t start, off_t end, char hex[65],
                         const atomic_bool *stop)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int r = -ENOMEM;

    if (start < 0 || (end >= 0 && end < start))
        return -EINVAL;
    unsigned char *chunk = malloc(HASH_CHUNK);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!chunk || !ctx)
        goto out;
    r = -EIO;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        goto out;
    if ((r = digest_range(ctx, fd, start, end, chunk, stop)) < 0)
        goto out;
    r = -EIO;
    if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
        goto out;
    for (unsigned i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    r = 0;
out:
    EVP_MD_CTX_free(ctx);
    free(chunk);
    return r;
}
#else
int hash_available(void)
{
    return 0;
}

int hash_sha256_fd_until(int fd, off_t start, off_t end, char hex[65],
                         const atomic_bool *stop)
{
    (void)fd, (void)start, (void)end, (void)stop;
    hex[0] = '\0';
    return -ENOSYS;
}
#endif

int hash_sha256_fd(int fd, off_t start, off_t end, char hex[65])
{
    return hash_sha256_fd_until(fd, start, end, hex, NULL);
}
