/* SHA-256 of a file range for the HASH command (draft-bryan-ftpext-hash),
 * with OpenSSL's libcrypto when the build found it. */
#ifndef CORIO_FTPD_HASH_H
#define CORIO_FTPD_HASH_H

#include <stdatomic.h>
#include <sys/types.h>

/* 1 if hash_sha256_fd() works in this build (advertise HASH in FEAT), else 0.
 */
int hash_available(void);

/* SHA-256 of bytes [start, end) of `fd` (end < 0: to the end of the file) as
 * 64 lowercase hex digits and a NUL in `hex`. Reads with pread(2), so the
 * fd's offset does not move. Blocking: run big files through the offload
 * pool. Returns 0, -ENOSYS without libcrypto, -EINVAL for a bad range, or
 * -errno from pread. */
int hash_sha256_fd(int fd, off_t start, off_t end, char hex[65]);

/* hash_sha256_fd that checks *stop (may be NULL) before each 256 KiB read
 * and returns -ECANCELED once another thread has set it. */
int hash_sha256_fd_until(int fd, off_t start, off_t end, char hex[65],
                         const atomic_bool *stop);

#endif
