/* Cooperative IO on real sockets: TCP over IPv4 and IPv6, UNIX sockets,
 * UDP, pipes, sendfile from a file, poll, deadlines, refused connections,
 * cio_fd_close waking a waiting task with -EBADF, and IO calls from a
 * coroutine a task made by hand.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum { BIG = 4 << 20 };

static int listen_fd;

/* Accepts one connection and echoes it until EOF. */
static void *echo_once(void *arg)
{
    (void)arg;
    int fd = cio_sock_accept(listen_fd, NULL, NULL, cio_deadline_in(5000));
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    char buf[1000];
    ssize_t n;
    while ((n = cio_fd_read(fd, buf, sizeof buf, -1)) > 0)
        CHECK_EQ(cio_fd_write_all(fd, buf, (size_t)n, -1), n);
    CHECK_EQ(n, 0);
    CHECK_EQ(cio_fd_close(fd), 0);
    return NULL;
}

/* Reads BIG bytes and checks the pattern. */
static void *big_reader(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char *buf = malloc(BIG);
    CHECK(buf != NULL);
    CHECK_EQ(cio_fd_read_full(fd, buf, BIG, -1), BIG);
    for (size_t i = 0; i < BIG; i += 4093)
        CHECK_EQ((unsigned char)buf[i], (unsigned char)(i * 7));
    free(buf);
    return NULL;
}

static int closing_fd;

static void *closer(void *arg)
{
    (void)arg;
    cio_task_sleep(5);
    CHECK_EQ(cio_fd_close(closing_fd), 0);
    return NULL;
}

static void tcp_roundtrip(const char *listen_host, const char *dial_host)
{
    listen_fd = cio_tcp_listen(listen_host, 0, 0, -1);
    CHECK(listen_fd >= 0);
    int port = cio_sock_port(listen_fd);
    CHECK(port > 0);
    cio_task_t *srv;
    CHECK_EQ(cio_task_spawn(&srv, echo_once, NULL), 0);
    int fd = cio_tcp_dial(dial_host, (uint16_t)port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    char buf[64];
    CHECK_EQ(cio_fd_write(fd, "hello", 5, -1), 5);
    CHECK_EQ(cio_fd_read_full(fd, buf, 5, cio_deadline_in(5000)), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* vectors */
    struct iovec out[2] = {{"ab", 2}, {"cde", 3}};
    CHECK_EQ(cio_fd_writev(fd, out, 2, -1), 5);
    char x[2], y[3];
    struct iovec in[2] = {{x, 2}, {y, 3}};
    size_t got = 0;
    while (got < 5) {
        ssize_t n = cio_fd_readv(fd, in, 2, cio_deadline_in(5000));
        CHECK(n > 0);
        got += (size_t)n;
        if (got < 5) { /* rare: split delivery; read the rest plainly */
            CHECK_EQ(cio_fd_read_full(fd, buf, 5 - got, -1),
                     (ssize_t)(5 - got));
            got = 5;
            memcpy(y, "cde", 3);
        }
    }
    CHECK(memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);
    /* recv with flags: peek, then read */
    CHECK_EQ(cio_sock_send(fd, "z", 1, 0, -1), 1);
    CHECK_EQ(cio_sock_recv(fd, buf, 1, MSG_PEEK, cio_deadline_in(5000)), 1);
    CHECK_EQ(cio_sock_recv(fd, buf, 1, 0, 0), 1);
    CHECK_EQ(buf[0], 'z');
    /* nothing more: deadlines */
    CHECK_EQ(cio_fd_read(fd, buf, 1, 0), -ETIMEDOUT);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_fd_read(fd, buf, 1, cio_deadline_in(20)), -ETIMEDOUT);
    CHECK(cio_hub_now() - start >= 19);
    CHECK_EQ(cio_fd_wait_readable(fd, 0), -ETIMEDOUT);
    CHECK_EQ(cio_fd_wait_writable(fd, -1), 0);
    /* a socket of our own filled with writes that may not wait: the one
     * that finds it full says so, and a write with time waits for room */
    int sp[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    static char chunk[16384];
    ssize_t w;
    size_t queued = 0;
    while ((w = cio_fd_write(sp[0], chunk, sizeof chunk, 0)) > 0)
        queued += (size_t)w;
    CHECK_EQ(w, -ETIMEDOUT);
    CHECK(queued > 0);
    CHECK_EQ(cio_fd_write(sp[0], chunk, 1, cio_deadline_in(20)), -ETIMEDOUT);
    CHECK_EQ(cio_fd_read_full(sp[1], chunk, sizeof chunk, -1),
             (ssize_t)sizeof chunk);
    CHECK_EQ(cio_fd_write(sp[0], chunk, 1, cio_deadline_in(5000)), 1);
    cio_fd_close(sp[0]);
    cio_fd_close(sp[1]);
    /* a big transfer: the writer waits for room while the echo and the
     * reader run */
    char *big = malloc(BIG);
    CHECK(big != NULL);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)(i * 7);
    cio_task_t *rd;
    CHECK_EQ(cio_task_spawn(&rd, big_reader, (void *)(intptr_t)fd), 0);
    CHECK_EQ(cio_fd_write_all(fd, big, BIG, cio_deadline_in(20000)), BIG);
    CHECK_EQ(cio_task_join(rd, -1), 0);
    cio_task_free(rd);
    free(big);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    CHECK_EQ(cio_fd_read(fd, buf, 1, cio_deadline_in(5000)), 0); /* EOF */
    CHECK_EQ(cio_task_join(srv, -1), 0);
    cio_task_free(srv);
    CHECK_EQ(cio_fd_close(fd), 0);
    CHECK_EQ(cio_fd_close(listen_fd), 0);
}

static void *nothing(void *arg)
{
    return arg;
}

/* A coroutine a task made by hand is not a task: its IO calls get -EPERM,
 * even where data waits on a socket the hub knows. */
static void *by_hand(void *arg)
{
    const int *sv = arg;
    char c;
    CHECK_EQ(cio_fd_write(sv[1], "y", 1, -1), -EPERM);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, -1), -EPERM);
    CHECK_EQ(cio_sock_recv(sv[0], &c, 1, 0, -1), -EPERM);
    CHECK_EQ(cio_sock_send(sv[1], "y", 1, 0, -1), -EPERM);
    return NULL;
}

/* by_hand in a fresh coroutine and in one made after a task ended, which
 * may reuse its memory. */
static void hand_made_coroutines(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    char c;
    CHECK_EQ(cio_fd_write(sv[1], "x", 1, -1), 1);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, -1), 1);
    CHECK_EQ(write(sv[1], "z", 1), 1); /* data waits for the read */
    for (int i = 0; i < 2; i++) {
        if (i == 1) {
            cio_task_t *t;
            CHECK_EQ(cio_task_spawn(&t, nothing, NULL), 0);
            CHECK_EQ(cio_task_join(t, -1), 0);
            cio_task_free(t);
        }
        cio_coro_t *co;
        CHECK_EQ(cio_coro_create(&co, by_hand, sv, 0), 0);
        CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
        cio_coro_free(co);
    }
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, -1), 1); /* the task's call reads */
    CHECK_EQ(c, 'z');
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
}

static bool have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                             .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void *main_task(void *arg)
{
    const char *dir = arg;
    char buf[256];
    tcp_roundtrip("127.0.0.1", "127.0.0.1");
    tcp_roundtrip(NULL, "127.0.0.1"); /* any address, dual stack */
    tcp_roundtrip("localhost", "localhost");
    if (have_ipv6())
        tcp_roundtrip("::1", "::1");

    /* refused: a port nobody listens on */
    int fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    int port = cio_sock_port(fd);
    cio_fd_close(fd);
    CHECK_EQ(cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(5000)),
             -ECONNREFUSED);
    CHECK_EQ(cio_tcp_dial("", 1, -1), -EINVAL);

    /* a connect that cannot finish (the listener's accept queue is full,
     * further SYNs are dropped) ends at its deadline */
    int lq = cio_tcp_listen("127.0.0.1", 0, 1, -1);
    CHECK(lq >= 0);
    CHECK_EQ(listen(lq, 0), 0);
    port = cio_sock_port(lq);
    int held[8], nheld = 0, rc = 0;
    while (nheld < 8) {
        rc = cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(100));
        if (rc < 0)
            break;
        held[nheld++] = rc;
    }
    CHECK_EQ(rc, -ETIMEDOUT);
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(50)),
             -ETIMEDOUT);
    CHECK(cio_hub_now() - t0 >= 49);
    for (int i = 0; i < nheld; i++)
        cio_fd_close(held[i]);
    cio_fd_close(lq);

    /* cio_fd_close wakes a task waiting on the fd */
    int sp[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    closing_fd = sp[0];
    CHECK_EQ(cio_task_spawn(NULL, closer, NULL), 0);
    CHECK_EQ(cio_fd_read(sp[0], buf, 1, cio_deadline_in(5000)), -EBADF);
    CHECK_EQ(cio_fd_close(sp[1]), 0);
    CHECK_EQ(cio_fd_close(-1), -EBADF);
    CHECK_EQ(cio_fd_read(-1, buf, 1, 0), -EBADF);

    /* poll over several fds */
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    struct pollfd pfd[3] = {{.fd = sp[0], .events = POLLIN},
                            {.fd = -1, .events = POLLIN},
                            {.fd = sp[1], .events = POLLIN}};
    CHECK_EQ(cio_fd_poll(pfd, 3, 0), 0);
    CHECK_EQ(cio_fd_poll(pfd, 3, cio_deadline_in(10)), 0);
    CHECK_EQ(write(sp[0], "x", 1), 1);
    CHECK_EQ(cio_fd_poll(pfd, 3, -1), 1);
    CHECK(pfd[2].revents & POLLIN);
    CHECK_EQ(pfd[0].revents, 0);
    pfd[0].events = POLLOUT;
    CHECK_EQ(cio_fd_poll(pfd, 3, -1), 2);
    CHECK_EQ(cio_fd_read(sp[1], buf, sizeof buf, -1), 1);
    snprintf(buf, sizeof buf, "%s/file", dir);
    int file = open(buf, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(file >= 0);
    struct pollfd fp = {.fd = file, .events = POLLIN};
    CHECK_EQ(cio_fd_poll(&fp, 1, -1), 1); /* regular files are always ready */

    /* pipes: read and write on a non-socket */
    int pp[2];
    CHECK_EQ(pipe(pp), 0);
    CHECK_EQ(cio_fd_write(pp[1], "pipe", 4, -1), 4);
    CHECK_EQ(cio_fd_read(pp[0], buf, sizeof buf, -1), 4);
    CHECK_EQ(cio_fd_read(pp[0], buf, sizeof buf, cio_deadline_in(5)),
             -ETIMEDOUT);
    CHECK_EQ(cio_sock_recv(pp[0], buf, 1, 0, 0), -ENOTSOCK);
    cio_fd_close(pp[0]);
    cio_fd_close(pp[1]);

    /* sendfile from a regular file */
    char content[10000];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (char)('a' + i % 26);
    CHECK_EQ(write(file, content, sizeof content), (ssize_t)sizeof content);
    off_t off = 0;
    size_t sent = 0;
    while (sent < sizeof content) {
        ssize_t n =
            cio_fd_sendfile(sp[0], file, &off, sizeof content - sent, -1);
        CHECK(n > 0);
        sent += (size_t)n;
        char in[10000];
        CHECK_EQ(cio_fd_read_full(sp[1], in, (size_t)n, -1), n);
        CHECK(memcmp(in, content + sent - (size_t)n, (size_t)n) == 0);
    }
    CHECK_EQ(cio_fd_sendfile(sp[0], file, &off, 100, -1), 0); /* end of file */
    close(file);
    cio_fd_close(sp[0]);
    cio_fd_close(sp[1]);

    /* UDP */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0),
        u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind(u1, (struct sockaddr *)&a, sizeof a), 0);
    a.sin_port = htons((uint16_t)cio_sock_port(u1));
    CHECK_EQ(
        cio_sock_sendto(u2, "dgram", 5, 0, (struct sockaddr *)&a, sizeof a, -1),
        5);
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    CHECK_EQ(cio_sock_recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from,
                               &flen, cio_deadline_in(5000)),
             5);
    CHECK(memcmp(buf, "dgram", 5) == 0);
    CHECK_EQ(ntohs(from.sin_port), cio_sock_port(u2));
    cio_fd_close(u1);
    cio_fd_close(u2);

    /* UNIX stream sockets */
    snprintf(buf, sizeof buf, "%s/sock", dir);
    listen_fd = cio_unix_listen(buf, 0);
    CHECK(listen_fd >= 0);
    cio_task_t *srv;
    CHECK_EQ(cio_task_spawn(&srv, echo_once, NULL), 0);
    fd = cio_unix_dial(buf, cio_deadline_in(5000));
    CHECK(fd >= 0);
    CHECK_EQ(cio_fd_write_all(fd, "unix", 4, -1), 4);
    CHECK_EQ(cio_fd_read_full(fd, buf, 4, -1), 4);
    CHECK(memcmp(buf, "unix", 4) == 0);
    cio_fd_close(fd);
    CHECK_EQ(cio_task_join(srv, -1), 0);
    cio_task_free(srv);
    cio_fd_close(listen_fd);
    CHECK_EQ(cio_unix_dial("/nonexistent/corio.sock", -1), -ENOENT);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    CHECK_EQ(cio_unix_listen(longpath, 0), -ENAMETOOLONG);
    hand_made_coroutines();
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/cio_io_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int rc = cio_hub_run(NULL, main_task, dir);
    char path[256];
    snprintf(path, sizeof path, "%s/file", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/sock", dir);
    unlink(path);
    rmdir(dir);
    CHECK_EQ(rc, 0);
    return 0;
}
