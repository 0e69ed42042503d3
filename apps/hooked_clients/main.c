/* hooked_clients: unmodified blocking code made to cooperate.
 *
 * Starts an echo server (a corio task per connection, each reply delayed
 * to stand for a remote service's latency) on 127.0.0.1, port 0, then
 * runs the plain blocking client of client.c once alone and then in N
 * tasks at once, all on this one thread. Linked with the hook library,
 * the N clients finish in about the time of one.
 *
 *   hooked_clients [-n clients] [-r rounds] [-d reply_delay_ms] */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "corio.h"
#include "common/cli.h"

struct options {
    int clients;      /* tasks running the client at once */
    int rounds;       /* lines each client sends */
    int64_t delay_ms; /* the server's delay before each echo */
};

/* One client run: its arguments and its result. */
struct client_job {
    const char *port; /* the server's port, as text */
    int id;           /* number written in every line */
    int rounds;
    int rc; /* echo_client's result */
};

static void echo_conn(int fd, const struct sockaddr *peer, socklen_t peer_len,
                      void *data)
{
    const struct options *opt = data;
    char buf[4096];
    for (;;) {
        ssize_t n = cio_fd_read(fd, buf, sizeof(buf), -1);
        if (n <= 0 || cio_task_sleep(opt->delay_ms) < 0 ||
            cio_fd_write_all(fd, buf, (size_t)n, -1) < 0)
            break;
    }
    cio_fd_close(fd);
}

static void *client_task(void *arg)
{
    struct client_job *job = arg;
    job->rc = echo_client("127.0.0.1", job->port, job->id, job->rounds);
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Runs n clients at once and waits for them; returns how many failed. */
static int run_clients(const char *port, int n, int rounds)
{
    struct client_job *jobs = calloc((size_t)n, sizeof(*jobs));
    cio_task_t **tasks = calloc((size_t)n, sizeof(*tasks));
    int failed = 0;
    if (jobs == NULL || tasks == NULL) {
        free(jobs);
        free(tasks);
        return n;
    }
    for (int i = 0; i < n; i++) {
        jobs[i] = (struct client_job){port, i, rounds, -1};
        if (cio_task_spawn(&tasks[i], client_task, &jobs[i]) < 0)
            tasks[i] = NULL;
    }
    cio_task_join_all(tasks, (size_t)n, -1);
    for (int i = 0; i < n; i++) {
        failed += jobs[i].rc != 0;
        if (tasks[i] != NULL)
            cio_task_free(tasks[i]);
    }
    free(jobs);
    free(tasks);
    return failed;
}

static void *main_task(void *arg)
{
    struct options *opt = arg;
    int lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    if (lfd < 0) {
        fprintf(stderr, "hooked_clients: listen: %s\n", cio_strerror(lfd));
        return (void *)1;
    }
    char port[16];
    snprintf(port, sizeof(port), "%d", cio_sock_port(lfd));
    printf("listening on 127.0.0.1:%s\n", port);
    cio_server_t *srv;
    int rc = cio_server_start(&srv, lfd, echo_conn, opt, 0);
    if (rc < 0) {
        fprintf(stderr, "hooked_clients: server: %s\n", cio_strerror(rc));
        cio_fd_close(lfd);
        return (void *)1;
    }

    double t0 = now_ms();
    int failed = run_clients(port, 1, opt->rounds);
    double one = now_ms() - t0;
    printf("one client: %.1f ms (%d rounds, %lld ms reply delay)\n", one,
           opt->rounds, (long long)opt->delay_ms);

    t0 = now_ms();
    failed += run_clients(port, opt->clients, opt->rounds);
    double all = now_ms() - t0;
    printf("%d clients at once: %.1f ms = %.2f x one client "
           "(one after another: about %.0f ms)\n",
           opt->clients, all, all / one, one * opt->clients);
    printf("%d of %d clients got every reply back\n", opt->clients + 1 - failed,
           opt->clients + 1);

    cio_server_stop(srv, cio_deadline_in(1000));
    cio_server_free(srv);
    return (void *)(intptr_t)(failed != 0);
}

/* Two fds per client (its socket and the server's) must fit. */
static void raise_fd_limit(int clients)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)clients * 2 + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_int(const char *s, int min, int max, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        fprintf(stderr, "hooked_clients: bad %s '%s' (%d..%d)\n", what, s, min,
                max);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "hooked_clients",
              "[-n clients] [-r rounds] [-d reply_delay_ms]",
              "Unmodified blocking clients (libc calls) cooperating in one "
              "thread\nthrough the hook library, against an echo server of its "
              "own.\n  -n N   clients (default 1000)\n  -r N   rounds per "
              "client (default 3)\n  -d MS  reply delay of the server (default "
              "50)\n  -h, --help, --version\n");
    struct options opt = {.clients = 1000, .rounds = 3, .delay_ms = 50};
    int c;
    while ((c = getopt(argc, argv, "n:r:d:h")) != -1) {
        switch (c) {
        case 'n':
            opt.clients = parse_int(optarg, 1, 100000, "client count");
            break;
        case 'r':
            opt.rounds = parse_int(optarg, 1, 1000, "round count");
            break;
        case 'd':
            opt.delay_ms = parse_int(optarg, 0, 60000, "delay");
            break;
        default:
            fprintf(stderr, "usage: hooked_clients [-n clients] [-r rounds] "
                            "[-d reply_delay_ms]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_fd_limit(opt.clients);
    void *result = NULL;
    int rc = cio_hub_run(&result, main_task, &opt);
    if (rc < 0) {
        fprintf(stderr, "hooked_clients: %s\n", cio_strerror(rc));
        return 1;
    }
    return result != NULL;
}
