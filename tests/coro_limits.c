/* Running out is an error, not a crash: with the address space limited,
 * create returns -ENOMEM; with the memory mappings used up (vm.max_map_count),
 * -EAGAIN; each time with a message, and every coroutine made before still
 * runs and frees. Each case runs in a child process. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "corio.h"
#include "check.h"

#define MAX_COROS 400000

static void *body(void *arg)
{
    cio_coro_yield(arg);
    return (void *)((uintptr_t)arg + 1);
}

/* Creates and starts coroutines until create fails; checks the error and
 * that all the others still finish. Returns the error. */
static int create_until_failure(void)
{
    static cio_coro_t *all[MAX_COROS];
    long n = 0;
    int rc = 0;
    while (n < MAX_COROS) {
        rc = cio_coro_create(&all[n], body, (void *)(uintptr_t)n, 0);
        if (rc)
            break;
        CHECK_EQ(cio_coro_switch(all[n], NULL, NULL), 0);
        n++;
    }
    CHECK(n > 0 && n < MAX_COROS);
    for (long i = 0; i < n; i++) {
        void *got;
        CHECK_EQ(cio_coro_switch(all[i], NULL, &got), 0);
        CHECK_EQ((uintptr_t)got, (uintptr_t)i + 1);
        cio_coro_free(all[i]);
    }
    printf("%ld coroutines, then %s\n", n, cio_strerror(rc));
    return rc;
}

static void limit_address_space(void)
{
    struct rlimit rl = {256u << 20, 256u << 20};
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0);
    CHECK_EQ(create_until_failure(), -ENOMEM);
}

/* Uses up the mappings with one-page maps of alternating protection (so
 * that they do not merge), leaving a few hundred free. */
static void use_up_mappings(void)
{
    long page = sysconf(_SC_PAGESIZE), made = 0;
    void *last[64]; /* the most recent maps, to give some back */
    for (;; made++) {
        int prot = made % 2 ? PROT_READ : PROT_NONE;
        void *p =
            mmap(NULL, (size_t)page, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            break;
        last[made % 64] = p;
    }
    CHECK(made > 1000);
    /* Give some back: a region and a few guard pages fit, then the limit
     * hits again. */
    for (int i = 0; i < 64; i++)
        CHECK(munmap(last[i], (size_t)page) == 0);
    CHECK_EQ(create_until_failure(), -EAGAIN);
}

static void run_child(void (*scenario)(void), const char *want)
{
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        scenario();
        fflush(stdout);
        _exit(0);
    }
    close(fds[1]);
    char out[4096];
    size_t len = 0;
    for (ssize_t n; len + 1 < sizeof out &&
                    (n = read(fds[0], out + len, sizeof out - 1 - len)) > 0;)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !strstr(out, want)) {
        fprintf(stderr, "child status %#x, expected \"%s\" in:\n%s\n", status,
                want, out);
        exit(1);
    }
}

int main(void)
{
#ifdef UNDER_ASAN
    /* ASan reserves terabytes of shadow and maps its own memory: it cannot
     * live under either limit. */
    CHECK_SKIP("ASan cannot run out of address space or mappings");
#endif
    run_child(use_up_mappings, "out of memory mappings (vm.max_map_count)");
    run_child(limit_address_space, "out of memory\n");
    printf("coro_limits: ok\n");
    return 0;
}
