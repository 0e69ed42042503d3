/* A task waiting on a socket is woken by its event; before it runs,
 * another task of the hub closes that socket with cio_fd_close and a new
 * socket gets the same number. The woken call must not go to the new
 * socket: it returns -EBADF, as a call still waiting at the close does.
 * (On the ring a read is done by the kernel, maybe before the close: then
 * it has the old socket's data.) The new socket's data stays for its
 * owner, and nothing is written to it. Each call that waits for
 * readiness: read without and with a deadline, recv, cio_fd_wait_readable,
 * a write that waits for room, and a read of a socket that streams on the
 * ring.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum kind { READ, READ_DEADLINE, RECV, WAIT_READABLE, WRITE, STREAMED, KINDS };
static const char *names[KINDS] = {"read",  "read with deadline",
                                   "recv",  "wait readable",
                                   "write", "streamed read"};

static int closed; /* the closer has closed the waiter's number */

struct waiter {
    enum kind kind;
    int fd;
    ssize_t r;
    int late; /* it returned after the close */
    char buf[8];
};

static void *waiter(void *arg)
{
    struct waiter *w = arg;
    switch (w->kind) {
    case READ:
    case STREAMED:
        w->r = cio_fd_read(w->fd, w->buf, sizeof w->buf, -1);
        break;
    case READ_DEADLINE:
        w->r = cio_fd_read(w->fd, w->buf, sizeof w->buf, cio_deadline_in(5000));
        break;
    case RECV:
        w->r = cio_sock_recv(w->fd, w->buf, sizeof w->buf, 0, -1);
        break;
    case WAIT_READABLE:
        w->r = cio_fd_wait_readable(w->fd, cio_deadline_in(5000));
        break;
    case WRITE:
        w->r = cio_fd_write(w->fd, "stale", 5, -1);
        break;
    default:
        break;
    }
    w->late = closed;
    return NULL;
}

/* A blocking client socket connected to the listener, and its accepted
 * peer (plain system calls: nothing here lets another task run). */
static int connect_to(int lfd, int *peer)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)cio_sock_port(lfd)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    int small = 4096; /* little to fill for the write case */
    CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
    CHECK_EQ(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    do
        *peer = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    while (*peer < 0 && errno == EAGAIN);
    CHECK(*peer >= 0);
    return c;
}

/* The other task: its own socket wakes it in the same look at the loop as
 * the waiter (watched first, with the lower number, and ready first: it
 * runs first), and it closes and reuses the waiter's number. */
struct closer {
    int lfd, wake_fd, num;
    int new_peer;
};

static void *closer(void *arg)
{
    struct closer *c = arg;
    char w;
    CHECK_EQ(cio_fd_read(c->wake_fd, &w, 1, cio_deadline_in(5000)), 1);
    CHECK_EQ(cio_fd_close(c->num), 0);
    closed = 1;
    int reused = connect_to(c->lfd, &c->new_peer);
    CHECK_EQ(reused, c->num); /* the lowest free number */
    CHECK_EQ(write(c->new_peer, "new", 3), 3);
    return NULL;
}

/* Request-reply rounds on fd: on the ring, it streams after them (a
 * multishot recv takes its data, uring_stream.c). */
static void ping_pong(int peer, int fd)
{
    char b[8];
    for (int i = 0; i < 12; i++) {
        CHECK_EQ(write(peer, "ping", 4), 4);
        CHECK_EQ(cio_fd_read(fd, b, sizeof b, cio_deadline_in(5000)), 4);
    }
}

/* Fills fd's way to peer, so that a write waits for room. */
static void fill(int fd)
{
    char chunk[4096] = {0};
    while (send(fd, chunk, sizeof chunk, MSG_DONTWAIT) > 0)
        ;
}

/* Reads peer dry until the kernel says fd has room (its event pending). */
static void make_room(int peer, int fd)
{
    char chunk[4096];
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    for (int i = 0; i < 1000; i++) {
        while (recv(peer, chunk, sizeof chunk, MSG_DONTWAIT) > 0)
            ;
        if (poll(&p, 1, 0) == 1)
            return;
        usleep(1000);
    }
    CHECK(!"the socket never had room");
}

static bool backend_ring(void)
{
    const char *b = getenv("CIO_BACKEND");
    return b && strcmp(b, "uring") == 0;
}

static int failed;

static void close_woken(int lfd, enum kind kind)
{
    int wake_peer, old_peer;
    int wake_fd = connect_to(lfd, &wake_peer);
    int num = connect_to(lfd, &old_peer);
    CHECK(wake_fd < num);
    if (kind == WRITE)
        fill(num);
    if (kind == STREAMED) { /* the closer's read streams too: woken first */
        ping_pong(wake_peer, wake_fd);
        ping_pong(old_peer, num);
    }
    struct waiter w = {.kind = kind, .fd = num};
    struct closer cl = {.lfd = lfd, .wake_fd = wake_fd, .num = num};
    cio_task_t *a, *b;
    closed = 0;
    CHECK_EQ(cio_task_spawn(&b, closer, &cl), 0);
    CHECK_EQ(cio_task_spawn(&a, waiter, &w), 0);
    CHECK_EQ(cio_task_sleep(0), 0);
    CHECK_EQ(cio_task_sleep(0), 0); /* both wait */
    CHECK(!cio_task_done(a) && !cio_task_done(b));
    CHECK_EQ(write(wake_peer, "w", 1), 1);
    if (kind == WRITE)
        make_room(old_peer, num);
    else
        CHECK_EQ(write(old_peer, "old", 3), 3);
    CHECK_EQ(cio_task_join(b, cio_deadline_in(5000)), 0);
    CHECK_EQ(cio_task_join(a, cio_deadline_in(5000)), 0);
    cio_task_free(a);
    cio_task_free(b);
    /* Woken by its event, it ran after the close (on the ring a read's
     * completion may come first). */
    bool ring_read = backend_ring() && kind != WAIT_READABLE && kind != WRITE;
    CHECK(w.late || ring_read);
    bool old_data = ring_read && w.r == 3 && !memcmp(w.buf, "old", 3);
    char b8[8];
    if (w.r != -EBADF && !old_data) {
        fprintf(stderr, "%s woken, then its number closed and reused: %zd",
                names[kind], w.r);
        if (w.r > 0 && kind != WRITE)
            fprintf(stderr, " (\"%.*s\")", (int)w.r, w.buf);
        fputc('\n', stderr);
        failed = 1;
    } else if (kind == WRITE) { /* nothing came to the new socket's peer */
        CHECK_EQ(recv(cl.new_peer, b8, sizeof b8, MSG_DONTWAIT), -1);
        CHECK_EQ(errno, EAGAIN);
    } else { /* the new socket's data is still there for its owner */
        CHECK_EQ(cio_fd_read(num, b8, sizeof b8, cio_deadline_in(5000)), 3);
        CHECK(!memcmp(b8, "new", 3));
    }
    CHECK_EQ(cio_fd_close(num), 0);
    CHECK_EQ(cio_fd_close(wake_fd), 0);
    close(wake_peer);
    close(old_peer);
    close(cl.new_peer);
}

static void *main_task(void *arg)
{
    (void)arg;
    int lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(lfd >= 0);
    for (int k = 0; k < KINDS; k++)
        if (k != STREAMED || backend_ring()) /* else it is a read */
            close_woken(lfd, (enum kind)k);
    CHECK_EQ(cio_fd_close(lfd), 0);
    CHECK_EQ(failed, 0);
    return NULL;
}

int main(void)
{
    alarm(20); /* a call that blocks the thread would hang the hub */
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    puts("ok");
    return 0;
}
