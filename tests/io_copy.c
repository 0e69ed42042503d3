/* fd copies and the proxy: a file through a TCP connection and back into a
 * file (splice), a proxy between a client and an echo server over real
 * sockets with half-closes passed on, a shared idle deadline that traffic
 * in one direction keeps moving, the buffered path for an fd splice(2)
 * refuses, and a killed proxy.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

#define BIG (3 * 1024 * 1024 + 17) /* not a multiple of any chunk */

static char *pattern(size_t n)
{
    char *p = malloc(n);
    CHECK(p != NULL);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)(i * 7 + i / 251);
    return p;
}

struct file_copy {
    int from, to; /* fds */
    uint64_t n;   /* bytes copied */
    int rc;       /* cio_fd_copy's result */
};

static void *copy_task(void *arg)
{
    struct file_copy *c = arg;
    c->rc = cio_fd_copy(c->from, c->to, &c->n, NULL, cio_deadline_in(20000));
    if (c->rc == 0)
        shutdown(c->to, SHUT_WR);
    return NULL;
}

/* file -> socket -> socket -> file, both copies at once */
static void file_through_socket(const char *dir)
{
    char src[256], dst[256];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(dst, sizeof dst, "%s/dst", dir);
    char *data = pattern(BIG);
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, BIG), BIG);
    close(fd);

    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct file_copy in = {.from = open(src, O_RDONLY), .to = sv[0]};
    struct file_copy out = {
        .from = sv[1], .to = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600)};
    CHECK(in.from >= 0 && out.to >= 0);
    cio_task_t *t[2];
    CHECK_EQ(cio_task_spawn(&t[0], copy_task, &in), 0);
    CHECK_EQ(cio_task_spawn(&t[1], copy_task, &out), 0);
    CHECK_EQ(cio_task_join_all(t, 2, cio_deadline_in(30000)), 0);
    cio_task_free(t[0]);
    cio_task_free(t[1]);
    CHECK_EQ(in.rc, 0);
    CHECK_EQ(out.rc, 0);
    CHECK_EQ(in.n, BIG);
    CHECK_EQ(out.n, BIG);
    struct stat st;
    CHECK_EQ(stat(dst, &st), 0);
    CHECK_EQ(st.st_size, BIG);
    char *back = malloc(BIG);
    fd = open(dst, O_RDONLY);
    CHECK_EQ(read(fd, back, BIG), BIG);
    CHECK(memcmp(back, data, BIG) == 0);
    close(fd);
    close(in.from);
    close(out.to);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
    free(back);
    free(data);
    unlink(src);
    unlink(dst);
}

/* ---- a proxy between a client and an echo server ---- */

static void echo(int fd, const struct sockaddr *peer, socklen_t peer_len,
                 void *data)
{
    char buf[4096];
    ssize_t n;
    while ((n = cio_fd_read(fd, buf, sizeof buf, cio_deadline_in(20000))) > 0)
        if (cio_fd_write_all(fd, buf, (size_t)n, -1) < 0)
            break;
    cio_fd_close(fd); /* after the client's end of file */
}

struct proxy_run {
    int listen_fd;      /* where clients connect */
    int echo_port;      /* where the proxy connects */
    int64_t idle_ms;    /* the proxy's idle limit */
    int rc;             /* cio_fd_proxy's result */
    uint64_t counts[2]; /* its byte counts */
    int64_t took_ms;    /* how long it ran */
};

static void *proxy_main(void *arg)
{
    struct proxy_run *r = arg;
    int c = cio_sock_accept(r->listen_fd, NULL, NULL, cio_deadline_in(10000));
    CHECK(c >= 0);
    int up = cio_tcp_dial("127.0.0.1", (uint16_t)r->echo_port,
                          cio_deadline_in(10000));
    CHECK(up >= 0);
    int64_t t0 = cio_hub_now();
    r->rc = cio_fd_proxy(c, up, r->counts, r->idle_ms, cio_deadline_in(30000));
    r->took_ms = cio_hub_now() - t0;
    cio_fd_close(c);
    cio_fd_close(up);
    return NULL;
}

static void *writer(void *arg)
{
    int fd = *(int *)arg;
    char *data = pattern(BIG);
    CHECK_EQ(cio_fd_write_all(fd, data, BIG, cio_deadline_in(20000)), BIG);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    free(data);
    return NULL;
}

static void proxy_echo(int echo_port)
{
    struct proxy_run r = {.echo_port = echo_port, .idle_ms = 5000};
    r.listen_fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(r.listen_fd >= 0);
    cio_task_t *pt, *wt;
    CHECK_EQ(cio_task_spawn(&pt, proxy_main, &r), 0);
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)cio_sock_port(r.listen_fd),
                          cio_deadline_in(10000));
    CHECK(fd >= 0);
    /* write and read at once: the echo comes back while we send */
    CHECK_EQ(cio_task_spawn(&wt, writer, &fd), 0);
    char *want = pattern(BIG), *got = malloc(BIG);
    CHECK_EQ(cio_fd_read_full(fd, got, BIG, cio_deadline_in(30000)), BIG);
    CHECK(memcmp(got, want, BIG) == 0);
    char extra;
    CHECK_EQ(cio_fd_read(fd, &extra, 1, cio_deadline_in(10000)), 0); /* EOF */
    CHECK_EQ(cio_task_join(wt, -1), 0);
    CHECK_EQ(cio_task_join(pt, cio_deadline_in(10000)), 0);
    cio_task_free(wt);
    cio_task_free(pt);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.counts[0], BIG);
    CHECK_EQ(r.counts[1], BIG);
    cio_fd_close(fd);
    cio_fd_close(r.listen_fd);
    free(want);
    free(got);
}

/* Idle: one direction busy keeps the proxy alive past the idle limit;
 * silence in both ends it about one idle limit later. */
static void proxy_idle(int echo_port)
{
    struct proxy_run r = {.echo_port = echo_port, .idle_ms = 150};
    r.listen_fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    cio_task_t *pt;
    CHECK_EQ(cio_task_spawn(&pt, proxy_main, &r), 0);
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)cio_sock_port(r.listen_fd),
                          cio_deadline_in(10000));
    CHECK(fd >= 0);
    int64_t t0 = cio_hub_now();
    while (cio_hub_now() - t0 < 600) { /* 4 idle limits, a byte per 30 ms */
        CHECK_EQ(cio_fd_write_all(fd, "x", 1, -1), 1);
        char c;
        CHECK_EQ(cio_fd_read(fd, &c, 1, cio_deadline_in(5000)), 1);
        CHECK_EQ(cio_task_sleep(30), 0);
    }
    CHECK(!cio_task_done(pt));
    CHECK_EQ(cio_task_join(pt, cio_deadline_in(10000)), 0);
    cio_task_free(pt);
    CHECK_EQ(r.rc, -ETIMEDOUT);
    printf("idle proxy ran %lld ms\n", (long long)r.took_ms);
    CHECK(r.took_ms >= 600 + 50 && r.took_ms < 600 + 150 + 3000);
    CHECK(r.counts[0] >= 10 && r.counts[0] == r.counts[1]);
    char c;
    CHECK_EQ(cio_fd_read(fd, &c, 1, cio_deadline_in(5000)), 0); /* closed */
    cio_fd_close(fd);
    cio_fd_close(r.listen_fd);
}

/* A killed proxy stops both directions and returns -ECANCELED. */
static void proxy_killed(int echo_port)
{
    struct proxy_run r = {.echo_port = echo_port};
    r.listen_fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    cio_task_t *pt;
    CHECK_EQ(cio_task_spawn(&pt, proxy_main, &r), 0);
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)cio_sock_port(r.listen_fd),
                          cio_deadline_in(10000));
    CHECK(fd >= 0);
    CHECK_EQ(cio_fd_write_all(fd, "ping", 4, -1), 4);
    char buf[4];
    CHECK_EQ(cio_fd_read_full(fd, buf, 4, cio_deadline_in(5000)), 4);
    CHECK_EQ(cio_task_kill(pt), 0);
    CHECK_EQ(cio_task_join(pt, cio_deadline_in(5000)), 0);
    cio_task_free(pt);
    CHECK_EQ(r.rc, -ECANCELED);
    CHECK_EQ(r.counts[0], 4);
    CHECK_EQ(cio_fd_read(fd, buf, 1, cio_deadline_in(5000)), 0);
    cio_fd_close(fd);
    cio_fd_close(r.listen_fd);
}

/* /proc/self/status refuses splice(2): the copy goes through a buffer. */
static void buffered(void)
{
    int from = open("/proc/self/status", O_RDONLY);
    CHECK(from >= 0);
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    uint64_t n = 0;
    CHECK_EQ(cio_fd_copy(from, sv[0], &n, NULL, cio_deadline_in(5000)), 0);
    CHECK(n > 100);
    char buf[8];
    CHECK_EQ(cio_fd_read_full(sv[1], buf, 5, cio_deadline_in(5000)), 5);
    CHECK(memcmp(buf, "Name:", 5) == 0);
    close(from);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
    /* and errors: a closed fd, and no task */
    CHECK_EQ(cio_fd_copy(-1, 1, &n, NULL, 0), -EBADF);
    CHECK_EQ(n, 0);
}

static void idle_basics(void)
{
    cio_idle_t *idle;
    CHECK_EQ(cio_idle_new(&idle, 0), -EINVAL);
    CHECK_EQ(cio_idle_new(&idle, 40), 0);
    int64_t now = cio_hub_now();
    CHECK(cio_idle_deadline(idle, -1) >= now + 39);
    CHECK_EQ(cio_idle_deadline(idle, now + 5), now + 5);
    CHECK(!cio_idle_expired(idle));
    CHECK_EQ(cio_task_sleep(25), 0);
    cio_idle_touch(idle); /* moves: not expired 25 ms later either */
    CHECK_EQ(cio_task_sleep(25), 0);
    CHECK(!cio_idle_expired(idle));
    CHECK_EQ(cio_task_sleep(30), 0);
    CHECK(cio_idle_expired(idle));
    cio_idle_set_data(idle, &now);
    CHECK(cio_idle_data(idle) == &now);
    cio_idle_free(idle);
}

static void *main_task(void *arg)
{
    idle_basics();
    file_through_socket(arg);
    buffered();
    cio_server_t *srv;
    int lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(lfd >= 0);
    int echo_port = cio_sock_port(lfd);
    CHECK_EQ(cio_server_start(&srv, lfd, echo, NULL, 0), 0);
    proxy_echo(echo_port);
    proxy_idle(echo_port);
    proxy_killed(echo_port);
    CHECK_EQ(cio_server_stop(srv, cio_deadline_in(5000)), 0);
    cio_server_free(srv);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/cio_copy_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    uint64_t n;
    CHECK_EQ(cio_fd_copy(0, 1, &n, NULL, -1), -EPERM);
    CHECK_EQ(cio_fd_proxy(0, 1, NULL, 0, -1), -EPERM);
    CHECK_EQ(cio_hub_run(NULL, main_task, dir), 0);
    rmdir(dir);
    return 0;
}
