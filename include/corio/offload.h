/* Blocking calls that no longer block everything: a function runs on a
 * thread of an offload pool while only the calling task waits. Name lookups
 * and file work use separate pools so neither can starve the other. The two
 * pools are shared by every hub of the process (threads start on demand and
 * leave after 10 s without work). */
#ifndef CORIO_OFFLOAD_H
#define CORIO_OFFLOAD_H

#include "export.h"

#include <netdb.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CIO_OFFLOAD_FILE, /* open, stat, fsync, unlink, rename, ... */
    CIO_OFFLOAD_DNS   /* getaddrinfo */
} cio_offload_kind_t;

/* Runs fn(arg) on a pool thread; the calling task waits until it returns and
 * gets its return value in *result (may be NULL). fn must not touch corio.
 * If the task is killed or its deadline passes, returns -ECANCELED or
 * -ETIMEDOUT at once; fn still runs to its end and its result is dropped
 * (arg must stay valid: allocate it when that matters). Outside a task
 * fn runs at once on the calling thread. Returns 0, -EINVAL (fn NULL),
 * -ETIMEDOUT, -ECANCELED, -EINTR, -ENOMEM, or -EAGAIN (no pool thread
 * could be started). */
CIO_API int cio_offload_run(long *result, cio_offload_kind_t kind,
                            long (*fn)(void *arg), void *arg,
                            int64_t deadline_ms);

/* <netdb.h> declares it only with POSIX features on; strict C11 users too. */
struct addrinfo;

/* getaddrinfo(3) on the DNS pool. Returns 0 or a negative errno: -ENOENT
 * (no such name), -EAGAIN (temporary failure), -ENOMEM, -EINVAL (bad
 * arguments or family), -ETIMEDOUT, -ECANCELED, or the errno of EAI_SYSTEM
 * (-EIO for a non-recoverable resolver failure). Numeric addresses are
 * answered at once without the pool. */
CIO_API int cio_dns_getaddrinfo(const char *node, const char *service,
                                const struct addrinfo *hints,
                                struct addrinfo **res, int64_t deadline_ms);

/* File calls on the file pool, waiting until deadline_ms (-1 forever). They
 * return as the syscalls do but -errno: open(2) an fd (made close-on-exec),
 * stat(2) and fsync(2) 0; each can also fail with -ETIMEDOUT, -ECANCELED,
 * -EINTR, -ENOMEM or -EINVAL (NULL path or st). After a timeout the call
 * still completes on its thread; a file opened then is closed. */
CIO_API int cio_file_open(const char *path, int flags, mode_t mode,
                          int64_t deadline_ms);
CIO_API int cio_file_stat(const char *path, struct stat *st,
                          int64_t deadline_ms);
CIO_API int cio_file_fsync(int fd, int64_t deadline_ms);

/* The most threads a pool runs at once (default 4 each, 0 counts as 1);
 * takes effect for threads started from now on. */
CIO_API void cio_offload_set_threads(cio_offload_kind_t kind, unsigned threads);

#ifdef __cplusplus
}
#endif

#endif
