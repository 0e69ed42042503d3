/* bench_reap CMD [ARGS...]: runs CMD as a child subreaper, so that the CPU
 * time of every process under it is counted somewhere.
 *
 * A server that forks per session (vsftpd forks two) may leave its
 * grandchildren to be reaped by init; their CPU time then appears in no
 * /proc/PID/stat that a benchmark can read. Under this wrapper orphans are
 * reparented here and reaped here, so the wrapper's cutime + cstime plus
 * the server's own utime + stime + cutime + cstime is the whole tree's CPU.
 * SIGINT and SIGTERM are passed on to CMD; the wrapper exits with CMD's
 * status once CMD and every orphan are gone. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli.h"

static volatile sig_atomic_t child;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

int main(int argc, char **argv)
{
    cli_begin(
        argc < 2 ? argc : 2, argv, "bench_reap", "CMD [ARGS...]",
        "Runs CMD as a child subreaper, so that every process it starts "
        "is\nwaited for; forwards SIGINT and SIGTERM.\n  --help, --version\n");
    if (argc < 2) {
        fprintf(stderr, "usage: bench_reap CMD [ARGS...]\n");
        return 2;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        perror("bench_reap: PR_SET_CHILD_SUBREAPER");
        return 1;
    }
    struct sigaction sa = {.sa_handler = forward};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench_reap: fork");
        return 1;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        fprintf(stderr, "bench_reap: %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }
    child = pid;
    int status = 0, rc = 1;
    for (;;) {
        pid_t p = wait(&status);
        if (p < 0 && errno == EINTR)
            continue;
        if (p < 0)
            break; /* ECHILD: the command and every orphan are reaped */
        if (p == pid) {
            child = 0;
            rc = WIFEXITED(status) ? WEXITSTATUS(status)
                                   : 128 + WTERMSIG(status);
        }
    }
    return rc;
}
