/* The hooks by LD_PRELOAD: this program links libcorio.so and not the
 * hook library. It runs itself again with LD_PRELOAD=libcorio_hook.so
 * (found next to libcorio.so) and then checks that blocking calls in its
 * tasks cooperate: a read that waits for another task's write, and ten
 * sleeps that overlap. Sanitizer builds skip it (the sanitizer runtime
 * must come first in the process, before any preloaded library). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "hook_util.h"

#if defined(__SANITIZE_ADDRESS__)
int main(void)
{
    CHECK_SKIP("LD_PRELOAD is not tested under the sanitizers");
}
#else

static bool (*hook_enabled)(void);

static void *writer(void *arg)
{
    usleep(20000);
    CHECK_EQ(write(*(int *)arg, "preloaded", 9), 9);
    return NULL;
}

static void *napper(void *arg)
{
    CHECK_EQ(usleep(100000), 0);
    return NULL;
}

static void *main_task(void *arg)
{
    CHECK(hook_enabled());
    int sv[2];
    char buf[16];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    /* Without the hooks this read would block the only thread forever
     * (the alarm would end the test): the writer could never run. */
    CHECK(cio_task_spawn(NULL, writer, &sv[1]) == 0);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 9);
    CHECK(memcmp(buf, "preloaded", 9) == 0);
    close(sv[0]);
    close(sv[1]);

    enum { N = 10 };
    cio_task_t *t[N];
    double t0 = now_ms();
    for (int i = 0; i < N; i++)
        CHECK(cio_task_spawn(&t[i], napper, NULL) == 0);
    CHECK(cio_task_join_all(t, N, -1) == 0);
    for (int i = 0; i < N; i++)
        cio_task_free(t[i]);
    double took = now_ms() - t0;
    printf("%d tasks sleeping 100 ms each took %.1f ms\n", N, took);
    CHECK(took < 100.0 * N / 2);
    return NULL;
}

/* Runs this program again with the hook library preloaded. */
static void reexec(char **argv)
{
    char self[PATH_MAX], lib[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0);
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    CHECK(slash != NULL);
    *slash = '\0';
    snprintf(lib, sizeof(lib), "%s/../lib/libcorio_hook.so", self);
    if (access(lib, R_OK) != 0)
        CHECK_SKIP("%s not built", lib);
    CHECK(getenv("CIO_HOOK_TEST_REEXEC") == NULL); /* preload did not work */
    setenv("CIO_HOOK_TEST_REEXEC", "1", 1);
    setenv("LD_PRELOAD", lib, 1);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "execv: %s\n", strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    void *sym = dlsym(RTLD_DEFAULT, "cio_hook_enabled");
    if (sym == NULL)
        reexec(argv);
    memcpy(&hook_enabled, &sym, sizeof(sym));
    alarm(20);
    CHECK(!hook_enabled());
    CHECK(cio_hub_run(NULL, main_task, NULL) == 0);
    return 0;
}
#endif
