/* Every cooperative operation that can wait, with its buffer on the task's
 * stack, ended by a deadline and by a kill: the call returns the right
 * error, the kernel (or an offload thread) writes nothing into the stack
 * afterwards, and nothing is lost (data stays readable, a connection stays
 * acceptable, bytes never sent are not counted). Waiting stacks are shrunk
 * after 5 ms, which must spare the stacks the kernel still writes to. On
 * uring these are operations on the ring; elsewhere readiness waits and the
 * file pool. Also: file reads and writes, stat, fsync, and cio_fd_close
 * ending another task's operation with -EBADF.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#include <corio.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define BIG 8192

/* The fds of one case. */
typedef struct ctx {
    int a, b;   /* the operation's fd and its peer */
    int extra;  /* a third fd some cases need */
    int extra2; /* and a fourth */
    long fill;  /* bytes queued before the operation (writes) */
    char dir[64];
} ctx_t;

typedef struct opcase {
    const char *name;
    size_t n;               /* buffer size */
    void (*setup)(ctx_t *); /* so that the operation waits */
    ssize_t (*op)(ctx_t *, char *buf, size_t n, int64_t deadline);
    void (*unblock)(ctx_t *); /* makes the operation possible */
    void (*check)(ctx_t *);   /* nothing was lost */
    bool kill_only;           /* the call takes no deadline */
} opcase_t;

static void sockpair(ctx_t *c)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    c->a = sv[0];
    c->b = sv[1];
}

static void pipepair(ctx_t *c)
{
    int p[2];
    CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
    c->a = p[0];
    c->b = p[1];
}

static void peer_says_hello(ctx_t *c)
{
    CHECK_EQ(write(c->b, "hello", 5), 5);
}

/* The "hello" the cancelled read did not take is still there. */
static void hello_still_there(ctx_t *c)
{
    char got[16];
    CHECK_EQ(cio_fd_read(c->a, got, sizeof got, cio_deadline_in(2000)), 5);
    CHECK(memcmp(got, "hello", 5) == 0);
}

static ssize_t op_recv(ctx_t *c, char *buf, size_t n, int64_t d)
{
    return cio_sock_recv(c->a, buf, n, 0, d);
}

static ssize_t op_read(ctx_t *c, char *buf, size_t n, int64_t d)
{
    return cio_fd_read(c->a, buf, n, d);
}

static ssize_t op_readv(ctx_t *c, char *buf, size_t n, int64_t d)
{
    struct iovec iov[2] = {{buf, 2}, {buf + 2, n - 2}}; /* on the stack */
    return cio_fd_readv(c->a, iov, 2, d);
}

static void udp_pair(ctx_t *c)
{
    c->a = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    c->b = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind(c->a, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    CHECK_EQ(getsockname(c->a, (struct sockaddr *)&sa, &len), 0);
    CHECK_EQ(connect(c->b, (struct sockaddr *)&sa, sizeof sa), 0);
}

static ssize_t op_recvfrom(ctx_t *c, char *buf, size_t n, int64_t d)
{
    struct sockaddr_in from; /* on the stack: the kernel writes it */
    socklen_t len = sizeof from;
    ssize_t r =
        cio_sock_recvfrom(c->a, buf, n, 0, (struct sockaddr *)&from, &len, d);
    if (r >= 0)
        CHECK_EQ(len, sizeof from);
    return r;
}

/* Fills a's send side until it would block. */
static void fill_sock(ctx_t *c)
{
    sockpair(c);
    static char junk[65536];
    ssize_t r;
    while ((r = send(c->a, junk, sizeof junk, MSG_DONTWAIT)) > 0)
        c->fill += r;
}

static void fill_pipe(ctx_t *c)
{
    pipepair(c);
    int t = c->a; /* the operation writes: a is the write end */
    c->a = c->b;
    c->b = t;
    static char junk[4096];
    ssize_t r;
    while ((r = write(c->a, junk, sizeof junk)) > 0)
        c->fill += r;
}

/* The reader drains: exactly what was queued before, plus what the
 * operation reported (nothing, when it was cut short). */
static long drained;
static void drain_peer(ctx_t *c)
{
    static char buf[65536];
    drained = 0;
    for (;;) {
        ssize_t r = read(c->b, buf, sizeof buf);
        if (r > 0) {
            drained += r;
            continue;
        }
        if (r < 0 && errno == EAGAIN && drained < c->fill) {
            cio_task_sleep(1);
            continue;
        }
        break;
    }
}

static void nothing_sent(ctx_t *c)
{
    cio_task_sleep(20); /* a stray write would land meanwhile */
    drain_peer(c);
    CHECK_EQ(drained, c->fill);
}

static ssize_t op_send(ctx_t *c, char *buf, size_t n, int64_t d)
{
    return cio_sock_send(c->a, buf, n, 0, d);
}

static ssize_t op_write(ctx_t *c, char *buf, size_t n, int64_t d)
{
    return cio_fd_write(c->a, buf, n, d);
}

static ssize_t op_writev(ctx_t *c, char *buf, size_t n, int64_t d)
{
    struct iovec iov[2] = {{buf, 1}, {buf + 1, n - 1}};
    return cio_fd_writev(c->a, iov, 2, d);
}

static void listener(ctx_t *c)
{
    c->a = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(c->a >= 0);
    c->b = -1;
}

static ssize_t op_accept(ctx_t *c, char *buf, size_t n, int64_t d)
{
    struct sockaddr_in peer; /* written by the kernel */
    socklen_t len = sizeof peer;
    (void)buf, (void)n;
    int fd = cio_sock_accept(c->a, (struct sockaddr *)&peer, &len, d);
    if (fd >= 0)
        cio_fd_close(fd);
    return fd;
}

static void client_connects(ctx_t *c)
{
    c->b = cio_tcp_dial("127.0.0.1", (uint16_t)cio_sock_port(c->a),
                        cio_deadline_in(2000));
    CHECK(c->b >= 0);
}

/* The connection the cancelled accept did not take is still queued. */
static void connection_still_there(ctx_t *c)
{
    int fd = cio_sock_accept(c->a, NULL, NULL, cio_deadline_in(2000));
    CHECK(fd >= 0);
    cio_fd_close(fd);
}

/* A pipe with nothing in it spliced to a socket. */
static void splice_setup(ctx_t *c)
{
    pipepair(c); /* a: read end, b: write end */
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    c->extra = sv[0];
    c->extra2 = sv[1];
}

static ssize_t op_splice(ctx_t *c, char *buf, size_t n, int64_t d)
{
    (void)buf;
    return cio_fd_splice(c->a, NULL, c->extra, NULL, n, d);
}

/* Opening a FIFO for reading waits for a writer. */
static void fifo_setup(ctx_t *c)
{
    snprintf(c->dir, sizeof c->dir, "/tmp/corio-fifo-XXXXXX");
    CHECK(mkdtemp(c->dir) != NULL);
    char path[96];
    snprintf(path, sizeof path, "%s/f", c->dir);
    CHECK_EQ(mkfifo(path, 0600), 0);
    c->a = c->b = -1;
}

static ssize_t op_open_fifo(ctx_t *c, char *buf, size_t n, int64_t d)
{
    char path[96]; /* on the stack: the kernel reads it */
    (void)buf, (void)n, (void)d;
    snprintf(path, sizeof path, "%s/f", c->dir);
    int fd = cio_file_open(path, O_RDONLY, 0, -1);
    if (fd >= 0)
        cio_fd_close(fd);
    return fd;
}

static void fifo_writer(ctx_t *c)
{
    char path[96];
    snprintf(path, sizeof path, "%s/f", c->dir);
    /* Opening the write end lets a blocked open for reading through. */
    for (int i = 0; i < 200 && c->b < 0; i++) {
        c->b = open(path, O_WRONLY | O_NONBLOCK);
        if (c->b < 0)
            cio_task_sleep(5);
    }
}

static const opcase_t cases[] = {
    {"recv small", 64, sockpair, op_recv, peer_says_hello, hello_still_there,
     false},
    {"recv big", BIG, sockpair, op_recv, peer_says_hello, hello_still_there,
     false},
    {"read pipe", 64, pipepair, op_read, peer_says_hello, hello_still_there,
     false},
    {"readv", 64, sockpair, op_readv, peer_says_hello, hello_still_there,
     false},
    {"recvfrom", 64, udp_pair, op_recvfrom, peer_says_hello, hello_still_there,
     false},
    {"send", BIG, fill_sock, op_send, NULL, nothing_sent, false},
    {"write pipe", BIG, fill_pipe, op_write, NULL, nothing_sent, false},
    {"writev", BIG, fill_sock, op_writev, NULL, nothing_sent, false},
    {"accept", 0, listener, op_accept, client_connects, connection_still_there,
     false},
    {"splice", 4096, splice_setup, op_splice, peer_says_hello,
     hello_still_there, false},
    {"open fifo", 0, fifo_setup, op_open_fifo, fifo_writer, NULL, true},
};

static void teardown(ctx_t *c)
{
    int fds[4] = {c->a, c->b, c->extra, c->extra2};
    for (int i = 0; i < 4; i++)
        if (fds[i] > 0)
            cio_fd_close(fds[i]);
    if (c->dir[0]) {
        char path[96];
        snprintf(path, sizeof path, "%s/f", c->dir);
        unlink(path);
        rmdir(c->dir);
    }
}

typedef struct run {
    const opcase_t *oc;
    ctx_t *c;
    int64_t deadline_ms; /* relative; -1 waits for a kill */
    ssize_t rc;
} run_t;

static void *victim(void *arg)
{
    run_t *r = arg;
    char buf[BIG]; /* what the kernel must not touch once we return */
    memset(buf, 'Z', sizeof buf);
    r->rc = r->oc->op(r->c, buf, r->oc->n,
                      r->deadline_ms < 0 ? -1 : cio_deadline_in(30));
    memset(buf, 'Y', sizeof buf);
    if (r->deadline_ms >= 0 && r->oc->unblock) {
        /* Still running: make the operation possible, let the loop turn,
         * and see that nothing wrote into this stack meanwhile. */
        r->oc->unblock(r->c);
        cio_task_sleep(20);
        for (size_t i = 0; i < sizeof buf; i++)
            CHECK_EQ(buf[i], 'Y');
    }
    return NULL;
}

static void one(const opcase_t *oc, bool kill)
{
    /* Not on this stack: it is shrunk while this task waits. */
    static ctx_t c;
    static run_t r;
    c = (ctx_t){.a = -1, .b = -1, .extra = -1, .extra2 = -1};
    oc->setup(&c);
    r = (run_t){.oc = oc, .c = &c, .deadline_ms = kill ? -1 : 30};
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, victim, &r), 0);
    if (kill) {
        cio_task_sleep(30); /* long enough for its stack to be shrunk */
        if (cio_task_kill(t) != 0) {
            /* io_uring opens a FIFO without waiting for a writer. */
            CHECK(oc->kill_only && r.rc >= 0);
            printf("%s: did not wait here\n", oc->name);
            cio_task_free(t);
            teardown(&c);
            return;
        }
    }
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    if (r.rc != (kill ? -ECANCELED : -ETIMEDOUT)) {
        fprintf(stderr, "%s (%s): %zd\n", oc->name, kill ? "kill" : "deadline",
                r.rc);
        exit(1);
    }
    if (kill && oc->unblock)
        oc->unblock(&c);
    if (oc->check)
        oc->check(&c);
    teardown(&c);
}

/* A big read with its buffer on a stack that would be shrunk: the data
 * arrives into it intact after a long wait. */
static void *big_reader(void *arg)
{
    ctx_t *c = arg;
    char buf[BIG];
    memset(buf, 0, sizeof buf);
    CHECK_EQ(cio_fd_read_full(c->a, buf, sizeof buf, cio_deadline_in(5000)),
             (ssize_t)sizeof buf);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK_EQ(buf[i], (char)(i * 7));
    return NULL;
}

static void test_long_wait(void)
{
    static ctx_t c; /* not on this stack: it is shrunk while we wait */
    c = (ctx_t){.extra = -1, .extra2 = -1};
    sockpair(&c);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, big_reader, &c), 0);
    cio_task_sleep(40);
    char data[BIG];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7);
    CHECK_EQ(cio_fd_write_all(c.b, data, sizeof data, cio_deadline_in(2000)),
             (ssize_t)sizeof data);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    teardown(&c);
}

static void *closed_reader(void *arg)
{
    ctx_t *c = arg;
    char buf[BIG];
    c->fill = cio_fd_read(c->a, buf, sizeof buf, cio_deadline_in(5000));
    return NULL;
}

/* cio_fd_close of an fd another task reads: that read ends with -EBADF. */
static void test_close_wakes(void)
{
    static ctx_t c; /* not on this stack: it is shrunk while we wait */
    c = (ctx_t){.extra = -1, .extra2 = -1};
    sockpair(&c);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, closed_reader, &c), 0);
    cio_task_sleep(10);
    CHECK_EQ(cio_fd_close(c.a), 0);
    c.a = -1;
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    cio_task_free(t);
    CHECK_EQ(c.fill, -EBADF);
    teardown(&c);
}

/* File reads and writes at offsets and at the position, stat, fsync. */
static void test_files(void)
{
    char dir[] = "/tmp/corio-file-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = cio_file_open(path, O_RDWR | O_CREAT | O_EXCL, 0600, -1);
    CHECK(fd >= 0);
    char out[BIG], in[BIG];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (char)(i * 13);
    CHECK_EQ(cio_file_pwrite(fd, out, sizeof out, 0, -1), (ssize_t)BIG);
    CHECK_EQ(cio_file_pwrite(fd, "tail", 4, -1, -1), 4); /* at position 0 */
    CHECK_EQ(cio_file_fsync(fd, -1), 0);
    struct stat st;
    CHECK_EQ(cio_file_stat(path, &st, -1), 0);
    CHECK_EQ(st.st_size, BIG);
    CHECK(S_ISREG(st.st_mode));
    CHECK_EQ(cio_file_stat("/nonexistent/corio", &st, -1), -ENOENT);
    CHECK_EQ(cio_file_pread(fd, in, sizeof in, 0, -1), (ssize_t)BIG);
    CHECK(memcmp(in, "tail", 4) == 0);
    CHECK(memcmp(in + 4, out + 4, BIG - 4) == 0);
    CHECK_EQ(cio_file_pread(fd, in, sizeof in, BIG, -1), 0); /* EOF */
    CHECK_EQ(cio_file_pread(fd, in, 10, -1, -1), 10);        /* position 4 */
    CHECK(memcmp(in, out + 4, 10) == 0);
    CHECK_EQ(cio_file_pread(-1, in, 1, 0, -1), -EBADF);
    CHECK_EQ(cio_file_open(dir, O_WRONLY, 0, -1), -EISDIR);
    /* A file spliced into a socket without a copy, through a pipe. */
    int p[2], sv[2];
    CHECK_EQ(pipe(p), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    int64_t off = 4;
    CHECK_EQ(cio_fd_splice(fd, &off, p[1], NULL, 100, -1), 100);
    CHECK_EQ(off, 104);
    CHECK_EQ(cio_fd_splice(p[0], NULL, sv[0], NULL, 100, -1), 100);
    CHECK_EQ(cio_fd_read_full(sv[1], in, 100, -1), 100);
    CHECK(memcmp(in, out + 4, 100) == 0);
    cio_fd_close(p[0]);
    cio_fd_close(p[1]);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
    cio_fd_close(fd);
    unlink(path);
    rmdir(dir);
}

static void *main_task(void *arg)
{
    (void)arg;
    cio_hub_set_shrink_after(5);
    test_files();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (!cases[i].kill_only)
            one(&cases[i], false);
        one(&cases[i], true);
    }
    test_long_wait();
    test_close_wakes();
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    printf("ok\n");
    return 0;
}
