/* The few system calls on the hub's every round trip, made directly: no
 * libc wrapper and no errno, and of the caller's registers only the two
 * the instruction clobbers, where a call clobbers nine: fewer values need
 * saving around them. Results are the kernel's: a count, or -errno.
 * Sanitizer builds and other CPUs go through libc, whose interceptors the
 * sanitizers need. */
#ifndef CIO_COMMON_SYS_H
#define CIO_COMMON_SYS_H

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CIO_SYS_LIBC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||     \
    __has_feature(memory_sanitizer)
#define CIO_SYS_LIBC 1
#endif
#endif
#if !defined(CIO_SYS_LIBC) && !(defined(__x86_64__) && !defined(__ILP32__)) && \
    !(defined(__aarch64__) && !defined(__ILP32__))
#define CIO_SYS_LIBC 1
#endif

#ifndef CIO_SYS_LIBC
/* nr(a..f): the kernel's result. The kernel reads and writes the buffers
 * the arguments point to: memory is clobbered. */
static inline long cio__sys6(long nr, long a, long b, long c, long d, long e,
                             long f)
{
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8),
                       "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#else
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory", "cc");
    return x0;
#endif
}
#endif

#ifdef CIO_SYS_LIBC
/* A libc call's result as the kernel gives it. */
static inline ssize_t cio__sys_ret(ssize_t r)
{
    return r < 0 ? -errno : r;
}
#endif

/* recv(2): the count or -errno. */
static inline ssize_t cio__sys_recv(int fd, void *buf, size_t n, int flags)
{
#ifndef CIO_SYS_LIBC
    return cio__sys6(SYS_recvfrom, fd, (long)buf, (long)n, flags, 0, 0);
#else
    return cio__sys_ret(recv(fd, buf, n, flags));
#endif
}

/* send(2): the count or -errno. */
static inline ssize_t cio__sys_send(int fd, const void *buf, size_t n,
                                    int flags)
{
#ifndef CIO_SYS_LIBC
    return cio__sys6(SYS_sendto, fd, (long)buf, (long)n, flags, 0, 0);
#else
    return cio__sys_ret(send(fd, buf, n, flags));
#endif
}

/* read(2): the count or -errno. */
static inline ssize_t cio__sys_read(int fd, void *buf, size_t n)
{
#ifndef CIO_SYS_LIBC
    return cio__sys6(SYS_read, fd, (long)buf, (long)n, 0, 0, 0);
#else
    return cio__sys_ret(read(fd, buf, n));
#endif
}

/* write(2): the count or -errno. */
static inline ssize_t cio__sys_write(int fd, const void *buf, size_t n)
{
#ifndef CIO_SYS_LIBC
    return cio__sys6(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
#else
    return cio__sys_ret(write(fd, buf, n));
#endif
}

#endif
