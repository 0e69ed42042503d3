/* Resolves and connects to many host:port targets at once, each in its own
 * task with its own deadline: name lookups run on the offload pool, so a
 * slow resolver or a dead address holds up only its own target.
 *
 *   fetch_many [-t MS] [-s TEXT] [-b BACKEND] HOST:PORT...
 *
 * -t  deadline per target in milliseconds (default 2000)
 * -s  text to send once connected; the first reply bytes are then awaited
 * Prints one line per target and a summary; exits 1 if any target failed. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "corio.h"

/* One target and what happened to it. */
typedef struct target {
    const char *spec; /* as given on the command line */
    char host[256];   /* host part, without IPv6 brackets */
    uint16_t port;    /* port part */
    int rc;           /* 0 or -errno */
    const char *step; /* what failed: resolve/connect, send, receive */
    int64_t ms;       /* time taken */
    char reply[81];   /* first reply bytes (printable part) */
} target_t;

static int64_t deadline_ms = 2000;
static const char *send_text;

static int parse_target(target_t *t, const char *spec)
{
    t->spec = spec;
    const char *colon = strrchr(spec, ':');
    const char *host = spec;
    size_t len = colon ? (size_t)(colon - spec) : 0;
    if (!colon || len == 0)
        return -1;
    if (host[0] == '[' && len >= 2 && host[len - 1] == ']') {
        host++;
        len -= 2;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port <= 0 || port > 65535 ||
        len >= sizeof t->host)
        return -1;
    memcpy(t->host, host, len);
    t->host[len] = '\0';
    t->port = (uint16_t)port;
    return 0;
}

static void *fetch(void *arg)
{
    target_t *t = arg;
    int64_t start = cio_hub_now(), deadline = cio_deadline_in(deadline_ms);
    t->step = "connect";
    int fd = cio_tcp_dial(t->host, t->port, deadline);
    if (fd < 0) {
        t->rc = fd;
    } else if (send_text) {
        t->step = "send";
        ssize_t n =
            cio_fd_write_all(fd, send_text, strlen(send_text), deadline);
        if (n < 0) {
            t->rc = (int)n;
        } else {
            t->step = "receive";
            char buf[80];
            n = cio_fd_read(fd, buf, sizeof buf, deadline);
            if (n < 0)
                t->rc = (int)n;
            else if (n == 0)
                t->rc = -ECONNRESET;
            for (ssize_t i = 0; i < n; i++)
                t->reply[i] = buf[i] >= 32 && buf[i] < 127 ? buf[i] : '.';
        }
    }
    if (fd >= 0)
        cio_fd_close(fd);
    t->ms = cio_hub_now() - start;
    return NULL;
}

struct job {
    target_t *targets; /* every target */
    int n;             /* how many */
};

static void *main_task(void *arg)
{
    struct job *job = arg;
    cio_task_t **tasks = calloc((size_t)job->n, sizeof *tasks);
    if (!tasks)
        return (void *)1;
    int64_t start = cio_hub_now();
    for (int i = 0; i < job->n; i++) {
        int rc = cio_task_spawn(&tasks[i], fetch, &job->targets[i]);
        if (rc < 0) {
            job->targets[i].rc = rc;
            job->targets[i].step = "start";
        }
    }
    cio_task_join_all(tasks, (size_t)job->n, -1);
    int failed = 0;
    for (int i = 0; i < job->n; i++) {
        target_t *t = &job->targets[i];
        cio_task_free(tasks[i]);
        if (t->rc == 0) {
            printf("%s ok in %lld ms%s%s\n", t->spec, (long long)t->ms,
                   send_text ? ": " : "", send_text ? t->reply : "");
        } else {
            failed++;
            printf("%s failed to %s after %lld ms: %s\n", t->spec, t->step,
                   (long long)t->ms,
                   cli_strerror(t->rc, !strcmp(t->step, "connect")));
        }
    }
    printf("%d ok, %d failed in %lld ms\n", job->n - failed, failed,
           (long long)(cio_hub_now() - start));
    free(tasks);
    return failed ? (void *)1 : NULL;
}

static const char USAGE[] =
    "[-t MS] [-s TEXT] [-b select|poll|epoll|uring] HOST:PORT...";
static const char HELP[] =
    "Resolves and connects to every target at once, each with a deadline.\n  "
    "-t MS     deadline per target in milliseconds (default 2000)\n  -s TEXT   "
    "text to send once connected; then awaits the first reply\n  -b NAME   "
    "loop backend (default: CIO_BACKEND, else epoll)\n  -h, --help, "
    "--version\n";

static void usage(const char *prog)
{
    (void)prog;
    cli_fail("fetch_many", USAGE);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "fetch_many", USAGE, HELP);
    const char *backend = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "t:s:b:h")) != -1) {
        switch (opt) {
        case 't': {
            char *end;
            deadline_ms = strtoll(optarg, &end, 10);
            if (*end || !*optarg || deadline_ms < 0)
                usage(argv[0]);
            break;
        }
        case 's':
            send_text = optarg;
            break;
        case 'b':
            backend = optarg;
            break;
        case 'h':
            cli_help("fetch_many", USAGE, HELP);
        default:
            usage(argv[0]);
        }
    }
    if (optind == argc)
        usage(argv[0]);
    struct job job = {.n = argc - optind};
    job.targets = calloc((size_t)job.n, sizeof *job.targets);
    if (!job.targets)
        return 1;
    for (int i = 0; i < job.n; i++) {
        if (parse_target(&job.targets[i], argv[optind + i]) < 0) {
            fprintf(stderr, "fetch_many: bad target '%s' (want HOST:PORT)\n",
                    argv[optind + i]);
            free(job.targets);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    cio_hub_opts_t ro = {.backend = backend};
    void *result = NULL;
    int rc = cio_hub_run_ex(&ro, &result, main_task, &job);
    free(job.targets);
    if (rc < 0) {
        fprintf(stderr, "fetch_many: %s\n", strerror(-rc));
        return 1;
    }
    return result ? 1 : 0;
}
