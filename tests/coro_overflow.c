/* A stack overflow is reported, never silent: in a child process, a
 * coroutine recursing without end hits its guard page and the SIGSEGV
 * handler (on the alternate signal stack) prints
 *   corio: coroutine <id> overflowed its stack (<size>)
 * and aborts. Without a guard page (CIO_CORO_GUARD_PAGES=0) the canary below
 * the stack catches a smaller overflow at the next switch. */
#include <alloca.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corio.h"
#include "check.h"

#define STACK (16u * 1024u)

static volatile unsigned long limit = ~0ul; /* hides the endless recursion */

static unsigned long forever(unsigned long n)
{
    volatile char buf[512];
    memset((char *)buf, (int)n, sizeof buf);
    return (n < limit ? forever(n + 1) : 0) + buf[n % sizeof buf];
}

static void *overflow_guarded(void *arg)
{
    return (void *)(uintptr_t)forever(0);
}

/* Writes a block from here down to a KiB past the stack's end, inside its
 * (unprotected) guard zone, then returns. */
static __attribute__((noinline)) unsigned long overshoot(const char *lo)
{
    volatile char here = 1;
    size_t n = (size_t)((const char *)&here - (lo - 1024));
    char *p = alloca(n);
    memset(p, 0x5a, n);
    return (unsigned long)p[n / 2] + (unsigned long)here;
}

static void *overflow_canary(void *arg)
{
    char here;
    /* The stack's top is the next page boundary above our first frame. */
    const char *top = (const char *)(((uintptr_t)&here + 4095) & ~4095ul);
    unsigned long r = overshoot(top - STACK);
    cio_coro_yield((void *)r); /* the switch away checks the canary */
    return NULL;
}

static void *idle(void *arg)
{
    cio_coro_yield(NULL);
    return NULL;
}

/* Runs scenario in a child; returns its stderr and wait status. */
static int run_child(void *(*fn)(void *), int guards, char *out, size_t cap,
                     uint64_t *id)
{
    int fds[2], idp[2]; /* stderr, and the coroutine's id */
    CHECK(pipe(fds) == 0 && pipe(idp) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(idp[0]);
        if (!guards)
            setenv("CIO_CORO_GUARD_PAGES", "0", 1);
        /* The first stack of a region always has a guard: take it. */
        cio_coro_t *first, *co;
        CHECK_EQ(cio_coro_create(&first, idle, NULL, STACK), 0);
        CHECK_EQ(cio_coro_switch(first, NULL, NULL), 0);
        CHECK_EQ(cio_coro_create(&co, fn, NULL, STACK), 0);
        uint64_t my_id = cio_coro_id(co);
        CHECK(write(idp[1], &my_id, sizeof my_id) == sizeof my_id);
        cio_coro_switch(co, NULL, NULL);
        _exit(0); /* not reached if the overflow is caught */
    }
    close(fds[1]);
    close(idp[1]);
    size_t len = 0;
    CHECK(read(idp[0], id, sizeof *id) == sizeof *id);
    close(idp[0]);
    for (ssize_t n;
         len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0;)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return status;
}

static void expect_report(void *(*fn)(void *), int guards)
{
    char out[4096], want[128];
    uint64_t id = 0;
    int status = run_child(fn, guards, out, sizeof out, &id);
    snprintf(want, sizeof want,
             "corio: coroutine %llu overflowed its stack (%u)\n",
             (unsigned long long)id, STACK);
    if (!strstr(out, want)) {
        fprintf(stderr, "expected \"%s\" in child's stderr (status %#x):\n%s\n",
                want, status, out);
        exit(1);
    }
    CHECK(WIFSIGNALED(status));
    CHECK_EQ(WTERMSIG(status), SIGABRT);
    printf("%s guard: %s", guards ? "with" : "without", want);
}

int main(void)
{
    expect_report(overflow_guarded, 1);
    expect_report(overflow_canary, 0);
    printf("coro_overflow: ok\n");
    return 0;
}
