/* Streaming reads (io_uring completion mode): a socket read again and again
 * through the hub gets a multishot recv that takes data off the socket
 * before the program asks. Every other way to read or wait on the fd must
 * still see that data, in order: readiness waits (cio_fd_wait_readable,
 * cio_fd_poll), reads with flags (MSG_PEEK) or vectors; and closing the fd,
 * killing a reader or its deadline must lose nothing, leak no buffer and
 * let the connection go. On the other backends the same checks hold and
 * the data simply stays in the socket (FIONREAD tells which happened).
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

static bool streams; /* the hub streams reads on this backend */

/* Request-reply rounds after which a socket streams (uring_stream.c
 * starts after 8 drained reads in a row), with a margin. */
enum { STREAM_AFTER = 12 };

/* A connected TCP pair on 127.0.0.1: *srv is read by the hub's calls,
 * *cli is the peer. */
static void tcp_pair(int *srv, int *cli)
{
    int lfd = cio_tcp_listen("127.0.0.1", 0, 16, -1);
    CHECK(lfd >= 0);
    *cli = cio_tcp_dial("127.0.0.1", (uint16_t)cio_sock_port(lfd),
                        cio_deadline_in(5000));
    CHECK(*cli >= 0);
    *srv = cio_sock_accept(lfd, NULL, NULL, cio_deadline_in(5000));
    CHECK(*srv >= 0);
    CHECK_EQ(cio_fd_close(lfd), 0);
}

/* Bytes the kernel still holds in fd's receive queue. */
static int in_socket(int fd)
{
    int n = -1;
    CHECK_EQ(ioctl(fd, FIONREAD, &n), 0);
    return n;
}

/* A few request-reply rounds through cio_fd_read: the fd streams after. */
static void ping_pong(int srv, int cli, int rounds)
{
    char buf[2048];
    for (int i = 0; i < rounds; i++) {
        CHECK_EQ(cio_fd_write(cli, "ping", 4, -1), 4);
        CHECK_EQ(cio_fd_read(srv, buf, sizeof buf, cio_deadline_in(5000)), 4);
        CHECK_EQ(memcmp(buf, "ping", 4), 0);
    }
}

/* Waits (bounded) until the peer's n bytes sent to fd have either been
 * taken by a multishot (streaming) or are in the socket (otherwise). */
static void settle(int fd, int n)
{
    for (int i = 0; i < 500; i++) {
        int q = in_socket(fd);
        if (streams ? q == 0 : q == n)
            break;
        CHECK_EQ(cio_task_sleep(2), 0);
    }
    CHECK_EQ(in_socket(fd), streams ? 0 : n);
}

/* A streaming pair whose peer has sent msg, taken by the multishot (or
 * left in the socket on other backends). */
static void held_pair(int *srv, int *cli, const char *msg)
{
    tcp_pair(srv, cli);
    ping_pong(*srv, *cli, STREAM_AFTER);
    int n = (int)strlen(msg);
    CHECK_EQ(cio_fd_write(*cli, msg, (size_t)n, -1), n);
    settle(*srv, n);
}

/* Data a multishot took is readable for a readiness wait, a peek and a
 * poll, and arrives in order. */
static void wait_sees_kept_data(void)
{
    int srv, cli;
    held_pair(&srv, &cli, "hello");
    /* No wait at all: the data is there already. */
    CHECK_EQ(cio_fd_wait_readable(srv, 0), 0);
    struct pollfd p = {.fd = srv, .events = POLLIN};
    CHECK_EQ(cio_fd_poll(&p, 1, 0), 1);
    CHECK(p.revents & POLLIN);
    char buf[16];
    CHECK_EQ(cio_sock_recv(srv, buf, 2, MSG_PEEK, 0), 2);
    CHECK_EQ(memcmp(buf, "he", 2), 0);
    CHECK_EQ(cio_fd_read(srv, buf, 3, 0), 3);
    CHECK_EQ(memcmp(buf, "hel", 3), 0);
    CHECK_EQ(cio_fd_read(srv, buf, sizeof buf, 0), 2);
    CHECK_EQ(memcmp(buf, "lo", 2), 0);
    /* Nothing left anywhere now. */
    CHECK_EQ(cio_fd_wait_readable(srv, cio_deadline_in(20)), -ETIMEDOUT);
    CHECK_EQ(cio_fd_close(srv), 0);
    CHECK_EQ(cio_fd_close(cli), 0);
}

enum { TOTAL = 300000 };

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 + (i >> 8));
}

/* Sends TOTAL bytes of the pattern in uneven pieces, pausing now and then
 * so that the reader finds the socket drained and streams. */
static void *writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    unsigned char buf[3000];
    size_t sent = 0;
    for (unsigned k = 1; sent < TOTAL; k++) {
        size_t n = 1 + (k * 977) % sizeof buf;
        if (n > TOTAL - sent)
            n = TOTAL - sent;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(sent + i);
        CHECK_EQ(cio_fd_write_all(fd, buf, n, cio_deadline_in(10000)),
                 (ssize_t)n);
        sent += n;
        if (k % 5 == 0)
            CHECK_EQ(cio_task_sleep(1), 0);
    }
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    return NULL;
}

/* A splice from a streaming socket (say, a body after a header read in
 * small pieces) moves the bytes the multishot took first, then the
 * socket's; EOF after. */
static void splice_after_stream(void)
{
    int srv, cli, p[2];
    held_pair(&srv, &cli, "abcdef");
    CHECK_EQ(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    CHECK_EQ(cio_fd_splice(srv, NULL, p[1], NULL, 4, cio_deadline_in(5000)), 4);
    CHECK_EQ(cio_fd_write(cli, "gh", 2, -1), 2);
    CHECK_EQ(shutdown(cli, SHUT_WR), 0);
    char buf[16];
    size_t got = 4;
    for (;;) {
        ssize_t n = cio_fd_splice(srv, NULL, p[1], NULL, sizeof buf,
                                  cio_deadline_in(5000));
        CHECK(n >= 0);
        if (n == 0)
            break;
        got += (size_t)n;
    }
    CHECK_EQ(got, 8);
    CHECK_EQ(cio_fd_read(p[0], buf, sizeof buf, cio_deadline_in(5000)), 8);
    CHECK_EQ(memcmp(buf, "abcdefgh", 8), 0);
    CHECK_EQ(cio_fd_close(p[0]), 0);
    CHECK_EQ(cio_fd_close(p[1]), 0);
    CHECK_EQ(cio_fd_close(srv), 0);
    CHECK_EQ(cio_fd_close(cli), 0);
}

/* One read by way `how` (after streaming, whatever it is, ended): bytes
 * into buf, 0 at EOF. */
static ssize_t read_by(int how, int srv, unsigned char *buf, unsigned k)
{
    int64_t dl = cio_deadline_in(10000);
    switch (how) {
    case 0: /* a readiness wait, then a read */
        CHECK_EQ(cio_fd_wait_readable(srv, dl), 0);
        return cio_sock_recv(srv, buf, 1 + k % 100, 0, dl);
    case 1: { /* a peek, then the same bytes read */
        ssize_t peek = cio_sock_recv(srv, buf, 64, MSG_PEEK, dl);
        CHECK(peek >= 0);
        unsigned char again[64];
        ssize_t n = cio_sock_recv(srv, again, (size_t)peek, 0, dl);
        CHECK_EQ(n, peek);
        CHECK_EQ(memcmp(buf, again, (size_t)n), 0);
        return n;
    }
    case 2: { /* a vector read */
        struct iovec iov[2] = {{buf, 5}, {buf + 5, 1 + k % 3000}};
        return cio_fd_readv(srv, iov, 2, dl);
    }
    case 3: { /* cio_fd_poll, then a read */
        struct pollfd p = {.fd = srv, .events = POLLIN};
        CHECK_EQ(cio_fd_poll(&p, 1, dl), 1);
        return cio_fd_read(srv, buf, 4096, dl);
    }
    default: { /* recvfrom with an address */
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        return cio_sock_recvfrom(srv, buf, 1 + k % 4000, 0,
                                 (struct sockaddr *)&ss, &len, dl);
    }
    }
}

/* For each other way to read or wait: the fd streams through a third of
 * the data, then that way takes over, mixed with plain reads. The byte
 * stream must come out whole and in order, then EOF. */
static void mixed_reads_keep_order(void)
{
    for (int how = 0; how < 5; how++) {
        int srv, cli;
        tcp_pair(&srv, &cli);
        cio_task_t *w;
        CHECK_EQ(cio_task_spawn(&w, writer, (void *)(intptr_t)cli), 0);
        unsigned char buf[4096];
        size_t got = 0;
        for (unsigned k = 0;; k++) {
            ssize_t n = got < TOTAL / 3 || k % 2
                            ? cio_fd_read(srv, buf, 1 + k % 2048,
                                          cio_deadline_in(10000))
                            : read_by(how, srv, buf, k);
            CHECK(n >= 0);
            if (n == 0)
                break;
            for (ssize_t i = 0; i < n; i++)
                CHECK_EQ(buf[i], pattern(got + (size_t)i));
            got += (size_t)n;
        }
        CHECK_EQ(got, (size_t)TOTAL);
        CHECK_EQ(cio_task_join(w, cio_deadline_in(5000)), 0);
        cio_task_free(w);
        CHECK_EQ(cio_fd_close(srv), 0);
        CHECK_EQ(cio_fd_close(cli), 0);
    }
}

/* Closing a streaming fd with data held gives its buffers back and lets the
 * connection go: the peer sees it closed. */
static void close_while_held(void)
{
    int srv, cli;
    held_pair(&srv, &cli, "unread");
    CHECK_EQ(cio_fd_close(srv), 0);
    /* Unread data at close: the peer gets a reset (or EOF). */
    char c;
    ssize_t n = cio_fd_read(cli, &c, 1, cio_deadline_in(5000));
    CHECK(n == 0 || n == -ECONNRESET);
    CHECK_EQ(cio_fd_close(cli), 0);
}

static int shared_fd;

static void *read_until(void *arg)
{
    char buf[64];
    return (void *)(intptr_t)cio_fd_read(shared_fd, buf, sizeof buf,
                                         cio_deadline_in((intptr_t)arg));
}

/* A reader waiting on an armed multishot leaves by deadline, by kill and
 * by cio_fd_close; nothing sent afterwards is lost. */
static void leave_while_armed(void)
{
    int srv, cli;
    tcp_pair(&srv, &cli);
    ping_pong(srv, cli, STREAM_AFTER);
    shared_fd = srv;
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, read_until, (void *)(intptr_t)30), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), -ETIMEDOUT);
    cio_task_free(t);

    CHECK_EQ(cio_task_spawn(&t, read_until, (void *)(intptr_t)-1), 0);
    CHECK_EQ(cio_task_sleep(10), 0);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), -ECANCELED);
    cio_task_free(t);

    CHECK_EQ(cio_fd_write(cli, "after", 5, -1), 5);
    char buf[16];
    CHECK_EQ(cio_fd_read(srv, buf, sizeof buf, cio_deadline_in(5000)), 5);
    CHECK_EQ(memcmp(buf, "after", 5), 0);

    CHECK_EQ(cio_task_spawn(&t, read_until, (void *)(intptr_t)-1), 0);
    CHECK_EQ(cio_task_sleep(10), 0);
    CHECK_EQ(cio_fd_close(srv), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), -EBADF);
    cio_task_free(t);
    CHECK_EQ(cio_fd_close(cli), 0);
}

static int peer_fd;

static void *write_one(void *arg)
{
    CHECK_EQ(cio_fd_write(*(int *)arg, "w", 1, cio_deadline_in(5000)), 1);
    return NULL;
}

static void *peer_has_it(void *arg)
{
    (void)arg;
    char c;
    return (void *)(intptr_t)recv(peer_fd, &c, 1, MSG_DONTWAIT);
}

/* A write to a socket is out before its task goes on: the task queued
 * after it, in the same round, finds the byte at the peer. (On the ring
 * a send would wait for the hub's next loop iteration, behind the round.)
 * Not on a streaming socket, whose short replies are queued (send-behind). */
static void write_goes_out_at_once(void)
{
    int srv, cli;
    tcp_pair(&srv, &cli);
    peer_fd = cli;
    cio_task_t *w, *p;
    CHECK_EQ(cio_task_spawn(&w, write_one, &srv), 0);
    CHECK_EQ(cio_task_spawn(&p, peer_has_it, NULL), 0);
    CHECK_EQ(cio_task_join(w, cio_deadline_in(5000)), 0);
    CHECK_EQ(cio_task_join(p, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(p), 1);
    cio_task_free(w);
    cio_task_free(p);
    CHECK_EQ(cio_fd_close(srv), 0);
    CHECK_EQ(cio_fd_close(cli), 0);
}

static int close_a, read_b;

static void *read_then_close(void *arg)
{
    (void)arg;
    char c;
    ssize_t n = cio_fd_read(read_b, &c, 1, cio_deadline_in(5000));
    CHECK_EQ(cio_fd_close(close_a), 0);
    return (void *)(intptr_t)n;
}

/* A reader woken by its data, and its fd closed by a task that runs
 * before it in the same round: it finds the fd closed, or reads the data,
 * and never the record the close freed (run under ASan). The data for the
 * closer is sent first, so its wake comes first. */
static void closed_after_wake(void)
{
    int srv_a, cli_a, srv_b, cli_b;
    tcp_pair(&srv_a, &cli_a);
    tcp_pair(&srv_b, &cli_b);
    ping_pong(srv_a, cli_a, STREAM_AFTER);
    ping_pong(srv_b, cli_b, STREAM_AFTER);
    close_a = srv_a;
    read_b = srv_b;
    shared_fd = srv_a;
    cio_task_t *ra, *rb;
    CHECK_EQ(cio_task_spawn(&ra, read_until, (void *)(intptr_t)5000), 0);
    CHECK_EQ(cio_task_spawn(&rb, read_then_close, NULL), 0);
    CHECK_EQ(cio_task_sleep(10), 0);     /* both wait now */
    CHECK_EQ(send(cli_b, "b", 1, 0), 1); /* plain sends: one iteration */
    CHECK_EQ(send(cli_a, "a", 1, 0), 1);
    CHECK_EQ(cio_task_join(rb, cio_deadline_in(5000)), 0);
    CHECK_EQ(cio_task_join(ra, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(rb), 1);
    intptr_t r = (intptr_t)cio_task_result(ra);
    CHECK(r == -EBADF || r == 1);
    cio_task_free(ra);
    cio_task_free(rb);
    CHECK_EQ(cio_fd_close(cli_a), 0);
    CHECK_EQ(cio_fd_close(srv_b), 0);
    CHECK_EQ(cio_fd_close(cli_b), 0);
}

enum { CONNS = 200, EACH = 20000 };

/* More data held than the provided buffers hold in all: the multishots
 * stop (back-pressure, or the ring runs dry) and every byte still comes
 * out in order, then EOF after the peer's shutdown. */
static void many_streams_run_dry(void)
{
    static int srv[CONNS], cli[CONNS];
    char buf[2048];
    for (int i = 0; i < CONNS; i++) {
        tcp_pair(&srv[i], &cli[i]);
        ping_pong(srv[i], cli[i], STREAM_AFTER);
    }
    static unsigned char data[EACH];
    for (size_t i = 0; i < EACH; i++)
        data[i] = pattern(i);
    for (int i = 0; i < CONNS; i++) {
        CHECK_EQ(cio_fd_write_all(cli[i], data, EACH, cio_deadline_in(5000)),
                 EACH);
        CHECK_EQ(shutdown(cli[i], SHUT_WR), 0);
    }
    CHECK_EQ(cio_task_sleep(50), 0); /* the multishots take what they can */
    for (int i = 0; i < CONNS; i++) {
        size_t got = 0;
        ssize_t n;
        while ((n = cio_fd_read(srv[i], buf, sizeof buf,
                                cio_deadline_in(5000))) > 0) {
            for (ssize_t k = 0; k < n; k++)
                CHECK_EQ((unsigned char)buf[k], pattern(got + (size_t)k));
            got += (size_t)n;
        }
        CHECK_EQ(n, 0);
        CHECK_EQ(got, (size_t)EACH);
        CHECK_EQ(cio_fd_close(srv[i]), 0);
        CHECK_EQ(cio_fd_close(cli[i]), 0);
    }
}

/* Reads from fd until EOF, checking the pattern; returns the count. */
static size_t drain_pattern(int fd)
{
    unsigned char buf[8192];
    size_t got = 0;
    ssize_t n;
    while ((n = cio_fd_read(fd, buf, sizeof buf, cio_deadline_in(10000))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(buf[i], pattern(got + (size_t)i));
        got += (size_t)n;
    }
    CHECK_EQ(n, 0);
    return got;
}

/* Replies on a streaming fd may be queued on the ring (send-behind): every
 * way to write must keep them in order, and a close right after must not
 * lose them, even when the peer's window is full and the last one has to
 * wait in the kernel. */
static void replies_in_order_then_close(void)
{
    int srv, cli;
    held_pair(&srv, &cli, "x");
    char c;
    CHECK_EQ(cio_fd_read(srv, &c, 1, cio_deadline_in(5000)), 1);
    unsigned char buf[6000];
    size_t sent = 0;
    /* Every way to write, in turns, while the socket has room. */
    for (unsigned k = 0; sent < 60000; k++) {
        size_t n = k % 4 == 3 ? 5000 : 1 + (k * 131) % 2048;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(sent + i);
        ssize_t w;
        int64_t dl = cio_deadline_in(5000);
        if (k % 4 == 1) {
            struct iovec iov[2] = {{buf, n / 2}, {buf + n / 2, n - n / 2}};
            w = cio_fd_writev(srv, iov, 2, dl);
        } else if (k % 4 == 2) {
            w = cio_sock_send(srv, buf, n, MSG_NOSIGNAL, dl);
        } else {
            w = cio_fd_write_all(srv, buf, n, dl);
        }
        CHECK_EQ(w, (ssize_t)n);
        sent += n;
    }
    /* Then small replies only, far more than the socket buffers hold: the
     * peer reads only at the end, so one waits in the kernel and the next
     * write, waiting for it, passes its deadline. */
    for (unsigned k = 0; sent < 30000000; k++) {
        size_t n = 1 + (k * 131) % 2048;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(sent + i);
        ssize_t w = cio_fd_write(srv, buf, n, cio_deadline_in(20));
        if (w == -ETIMEDOUT)
            break;
        CHECK(w > 0);
        sent += (size_t)w;
        if ((size_t)w < n)
            break;
    }
    CHECK(sent > 0);
    CHECK_EQ(cio_fd_close(srv), 0); /* with a reply maybe still queued */
    CHECK_EQ(drain_pattern(cli), sent);
    CHECK_EQ(cio_fd_close(cli), 0);
}

static int left_open[2];

static void *main_task(void *arg)
{
    (void)arg;
    const char *be = cio_loop_backend(cio_hub_loop());
    const char *ready = getenv("CIO_URING_READINESS");
    const char *off = getenv("CIO_URING_STREAM");
    streams = strcmp(be, "uring") == 0 && !(ready && *ready) &&
              !(off && strcmp(off, "0") == 0);
    printf("backend %s, streaming %s\n", be, streams ? "on" : "off");
    wait_sees_kept_data();
    splice_after_stream();
    mixed_reads_keep_order();
    close_while_held();
    leave_while_armed();
    closed_after_wake();
    write_goes_out_at_once();
    replies_in_order_then_close();
    many_streams_run_dry();
    /* The hub ends with a multishot armed and data held: nothing leaks and
     * nothing writes into freed memory (run under ASan). */
    held_pair(&left_open[0], &left_open[1], "bye");
    /* ...and with a reply waiting in the kernel for the peer's full
     * window: the send is cancelled before its copy is freed. */
    char reply[1000] = {0};
    for (int i = 0; i < 100000; i++) {
        ssize_t w = cio_fd_write(left_open[0], reply, sizeof reply,
                                 cio_deadline_in(20));
        if (w == -ETIMEDOUT)
            break;
        CHECK(w > 0);
        if (w < (ssize_t)sizeof reply)
            break; /* other backends: the socket took part of it */
    }
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    close(left_open[0]);
    close(left_open[1]);
    puts("ok");
    return 0;
}
