/* The hooked read/write family: outside a task they are the real calls;
 * inside one they wait cooperatively, keep O_NONBLOCK and SO_RCVTIMEO /
 * SO_SNDTIMEO as the program set them, fail on closed fds, and give up
 * with ECANCELED on cio_task_kill and EINTR on cio_task_interrupt.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "corio/hook.h"
#include "hook_util.h"

static void stream_pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
}

/* Fills fd's send buffer (and the peer's receive buffer) to the brim. */
static void fill(int fd)
{
    static char junk[65536];
    while (send(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
        ;
    CHECK(errno == EAGAIN);
}

/* ---- outside a task: the real calls ---- */

static void outside(void)
{
    int sv[2];
    char buf[16];
    stream_pair(sv);
    CHECK(!cio_hook_enabled());
    CHECK_EQ(write(sv[1], "abc", 3), 3);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 3);
    CHECK_EQ(send(sv[1], "de", 2, 0), 2);
    CHECK_EQ(recv(sv[0], buf, sizeof(buf), 0), 2);
    CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(fcntl(sv[0], F_SETFL, 0) == 0);
    set_timeout(sv[0], SO_RCVTIMEO, 50);
    double t0 = now_ms();
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(now_ms() - t0 >= 40);
    CHECK(close(sv[0]) == 0);
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    close(sv[1]);
}

/* ---- inside: each call waits for a peer task ---- */

struct peer {
    int fd;           /* where the peer writes */
    int delay_ms;     /* how long it waits first */
    const char *data; /* what it writes */
};

static void *peer_write(void *arg)
{
    struct peer *p = arg;
    usleep((useconds_t)p->delay_ms * 1000); /* hooked: a cooperative sleep */
    size_t len = strlen(p->data);
    CHECK_EQ(write(p->fd, p->data, len), len);
    return NULL;
}

static void later(int fd, const char *data)
{
    static struct peer p;
    p = (struct peer){fd, 20, data};
    CHECK(cio_task_spawn(NULL, peer_write, &p) == 0);
}

static void each_call_waits(void)
{
    int sv[2], dg[2];
    char buf[64];
    stream_pair(sv);
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0);
    CHECK(cio_hook_enabled());

    ticker_start();
    later(sv[1], "read");
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 4);
    CHECK(memcmp(buf, "read", 4) == 0);
    CHECK(ticker_stop() > 0); /* the ticker ran while read waited */

    later(sv[1], "readv");
    struct iovec iov[2] = {{buf, 2}, {buf + 2, 10}};
    CHECK_EQ(readv(sv[0], iov, 2), 5);
    CHECK(memcmp(buf, "readv", 5) == 0);

    later(sv[1], "recv");
    CHECK_EQ(recv(sv[0], buf, sizeof(buf), 0), 4);

    later(dg[1], "dgram");
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    CHECK_EQ(recvfrom(dg[0], buf, sizeof(buf), 0, (struct sockaddr *)&from,
                      &fromlen),
             5);
    CHECK(memcmp(buf, "dgram", 5) == 0);

    later(dg[1], "msg");
    struct iovec one = {buf, sizeof(buf)};
    struct msghdr m = {.msg_iov = &one, .msg_iovlen = 1};
    CHECK_EQ(recvmsg(dg[0], &m, 0), 3);

    later(dg[1], "plain read of a datagram");
    CHECK_EQ(read(dg[0], buf, sizeof(buf)), 24);

    /* The sending side of each: on free buffers they simply succeed. */
    struct iovec out[2] = {{"wri", 3}, {"tev", 3}};
    CHECK_EQ(writev(sv[1], out, 2), 6);
    CHECK_EQ(send(sv[1], "x", 1, 0), 1);
    CHECK_EQ(sendto(dg[1], "y", 1, 0, NULL, 0), 1);
    struct msghdr sm = {.msg_iov = out, .msg_iovlen = 2};
    CHECK_EQ(sendmsg(dg[1], &sm, 0), 6);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 7);
    CHECK_EQ(recv(dg[0], buf, sizeof(buf), 0), 1);
    CHECK_EQ(recv(dg[0], buf, sizeof(buf), 0), 6);
    close(sv[0]);
    close(sv[1]);
    close(dg[0]);
    close(dg[1]);
}

/* ---- a blocking write larger than the socket buffer sends it all ---- */

#define BIG (4u << 20)

struct drain {
    int fd;       /* read until EOF */
    size_t got;   /* bytes read */
    uint32_t sum; /* their checksum */
};

static void *drainer(void *arg)
{
    struct drain *d = arg;
    char buf[3000];
    ssize_t n;
    while ((n = read(d->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            d->sum = d->sum * 31 + (unsigned char)buf[i];
        d->got += (size_t)n;
    }
    CHECK_EQ(n, 0);
    return NULL;
}

static void big_write(int rd, int wr)
{
    char *data = malloc(BIG);
    CHECK(data != NULL);
    uint32_t sum = 0;
    for (size_t i = 0; i < BIG; i++) {
        data[i] = (char)(i * 7 + (i >> 12));
        sum = sum * 31 + (unsigned char)data[i];
    }
    struct drain d = {rd, 0, 0};
    cio_task_t *t = spawn(drainer, &d);
    CHECK_EQ(write(wr, data, BIG), BIG);
    close(wr);
    join(t);
    CHECK_EQ(d.got, BIG);
    CHECK_EQ(d.sum, sum);
    close(rd);
    free(data);
}

static void big_writes(void)
{
    int sv[2], p[2];
    stream_pair(sv);
    big_write(sv[0], sv[1]);
    CHECK(pipe(p) == 0);
    big_write(p[0], p[1]);
}

/* ---- MSG_WAITALL waits for every byte ---- */

static void *dribble(void *arg)
{
    int fd = *(int *)arg;
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(send(fd, "0123456789", 10, 0), 10);
        usleep(2000);
    }
    return NULL;
}

static void waitall(void)
{
    int sv[2];
    char buf[100];
    stream_pair(sv);
    CHECK(cio_task_spawn(NULL, dribble, &sv[1]) == 0);
    CHECK_EQ(recv(sv[0], buf, sizeof(buf), MSG_WAITALL), 100);
    CHECK(memcmp(buf + 90, "0123456789", 10) == 0);
    close(sv[0]);
    close(sv[1]);
}

/* ---- fds the program made non-blocking keep saying EAGAIN ---- */

static void nonblocking(void)
{
    int sv[2], p[2];
    char buf[8];
    int on = 1;

    stream_pair(sv);
    CHECK(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
    double t0 = now_ms();
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK_EQ(recv(sv[0], buf, 1, 0), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(ioctl(sv[1], FIONBIO, &on) == 0);
    fill(sv[1]);
    CHECK_EQ(write(sv[1], "x", 1), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(now_ms() - t0 < 1000); /* none of them waited */
    CHECK(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
    close(sv[0]);
    close(sv[1]);

    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    close(sv[0]);
    close(sv[1]);

    CHECK(pipe2(p, O_NONBLOCK) == 0);
    CHECK_EQ(read(p[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    close(p[0]);
    close(p[1]);

    /* Blocking fds stay blocking: the hooks changed no flag. */
    stream_pair(sv);
    later(sv[1], "z");
    CHECK_EQ(read(sv[0], buf, 1), 1);
    CHECK(!(fcntl(sv[0], F_GETFL) & O_NONBLOCK));
    CHECK(!(fcntl(sv[1], F_GETFL) & O_NONBLOCK));
    close(sv[0]);
    close(sv[1]);
}

/* ---- socket timeouts the program set are honoured, none invented ---- */

static void timeouts(void)
{
    int sv[2];
    char buf[8];
    static char big[1 << 20];
    stream_pair(sv);

    set_timeout(sv[0], SO_RCVTIMEO, 100);
    ticker_start();
    double t0 = now_ms();
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(now_ms() - t0 >= 90);
    CHECK(ticker_stop() > 0);
    CHECK_EQ(recv(sv[0], buf, 1, 0), -1);
    CHECK_EQ(errno, EAGAIN);
    later(sv[1], "in time");
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 7);

    /* SO_SNDTIMEO: a full socket; a write sends what fits, else EAGAIN. */
    set_timeout(sv[1], SO_SNDTIMEO, 100);
    fill(sv[1]);
    t0 = now_ms();
    CHECK_EQ(write(sv[1], big, sizeof(big)), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(now_ms() - t0 >= 90);
    close(sv[0]);
    close(sv[1]);

    /* No timeout set: a read waits as long as it takes (here 150 ms). */
    stream_pair(sv);
    static struct peer slow;
    slow = (struct peer){sv[1], 150, "late"};
    CHECK(cio_task_spawn(NULL, peer_write, &slow) == 0);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 4);
    close(sv[0]);
    close(sv[1]);
}

/* ---- closed fds ---- */

static void *close_later(void *arg)
{
    int fd = *(int *)arg;
    usleep(20000);
    CHECK(close(fd) == 0); /* hooked: wakes the reader with EBADF */
    return NULL;
}

static void closed_fds(void)
{
    int sv[2];
    char buf[8];
    stream_pair(sv);
    CHECK(close(sv[1]) == 0);
    CHECK_EQ(read(sv[0], buf, 1), 0); /* EOF */
    CHECK(close(sv[0]) == 0);
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(write(sv[0], "x", 1), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(recv(sv[0], buf, 1, 0), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(close(sv[0]), -1);
    CHECK_EQ(errno, EBADF);

    stream_pair(sv);
    CHECK(cio_task_spawn(NULL, close_later, &sv[0]) == 0);
    CHECK_EQ(read(sv[0], buf, 1), -1);
    CHECK_EQ(errno, EBADF);
    close(sv[1]);
}

/* ---- cio_task_kill and cio_task_interrupt ---- */

struct victim {
    int fd;   /* the fd it reads */
    int err1; /* errno of the first read */
    int err2; /* errno of a second read after that */
};

static void *victim_read(void *arg)
{
    struct victim *v = arg;
    char buf[8];
    v->err1 = read(v->fd, buf, 1) < 0 ? errno : 0;
    v->err2 = read(v->fd, buf, 1) < 0 ? errno : 0;
    return NULL;
}

static void kill_and_interrupt(void)
{
    int sv[2];
    stream_pair(sv);
    struct victim v = {sv[0], 0, 0};
    cio_task_t *t = spawn(victim_read, &v);
    cio_task_sleep(20);
    CHECK(cio_task_kill(t) == 0);
    join(t);
    CHECK_EQ(v.err1, ECANCELED);
    CHECK_EQ(v.err2, ECANCELED); /* and every later blocking call */

    v = (struct victim){sv[0], 0, 0};
    t = spawn(victim_read, &v);
    cio_task_sleep(20);
    CHECK(cio_task_interrupt(t) == 0);
    cio_task_sleep(20);
    CHECK_EQ(write(sv[1], "k", 1), 1);
    join(t);
    CHECK_EQ(v.err1, EINTR);
    CHECK_EQ(v.err2, 0); /* interrupted once, then reads "k" */
    close(sv[0]);
    close(sv[1]);
}

/* ---- pipes and regular files ---- */

static void pipes_and_files(void)
{
    int p[2];
    char buf[32];
    CHECK(pipe(p) == 0);
    ticker_start();
    later(p[1], "through a pipe");
    CHECK_EQ(read(p[0], buf, sizeof(buf)), 14);
    CHECK(ticker_stop() > 0);
    close(p[0]);
    close(p[1]);

    char path[] = "/tmp/corio-hook-io-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_EQ(write(fd, "a regular file", 14), 14);
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 14);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 0);
    CHECK(close(fd) == 0);
}

/* ---- after corio's own reads: data a streaming read took comes first ---- */

/* On io_uring a socket read through cio_fd_read again and again streams:
 * a multishot recv takes what arrives before anyone asks. The hooked read
 * and recv must still get those bytes, in order, and then the socket's. */
static void streamed_then_hooked(void)
{
    int sv[2];
    char buf[8];
    stream_pair(sv);
    for (int i = 0; i < 12; i++) { /* it streams after 8 */
        CHECK_EQ(cio_fd_write(sv[1], "ping", 4, -1), 4);
        CHECK_EQ(cio_fd_read(sv[0], buf, sizeof(buf), -1), 4);
    }
    CHECK_EQ(cio_fd_write(sv[1], "abcdef", 6, -1), 6);
    const char *off = getenv("CIO_URING_STREAM");
    bool streams = !strcmp(cio_loop_backend(cio_hub_loop()), "uring") &&
                   !getenv("CIO_URING_READINESS") &&
                   !(off && !strcmp(off, "0"));
    int queued = -1;
    for (int i = 0; i < 200; i++) { /* taken, or left in the socket */
        CHECK(ioctl(sv[0], FIONREAD, &queued) == 0);
        if (queued == (streams ? 0 : 6))
            break;
        CHECK_EQ(cio_task_sleep(2), 0);
    }
    CHECK_EQ(queued, streams ? 0 : 6);
    CHECK_EQ(recv(sv[0], buf, 2, MSG_PEEK), 2);
    CHECK(memcmp(buf, "ab", 2) == 0);
    CHECK_EQ(recv(sv[0], buf, 3, 0), 3);
    CHECK(memcmp(buf, "abc", 3) == 0);
    later(sv[1], "gh");
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 3);
    CHECK(memcmp(buf, "def", 3) == 0);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 2); /* waits for "gh" */
    CHECK(memcmp(buf, "gh", 2) == 0);
    CHECK(close(sv[0]) == 0);
    CHECK(close(sv[1]) == 0);
}

/* ---- switched off: the real, thread-blocking calls ---- */

static void switched_off(void)
{
    int sv[2];
    char buf[4];
    stream_pair(sv);
    CHECK(cio_hook_set_enabled(false));
    CHECK(!cio_hook_enabled());
    CHECK_EQ(write(sv[1], "on", 2), 2);
    CHECK_EQ(read(sv[0], buf, sizeof(buf)), 2);
    CHECK(!cio_hook_set_enabled(true));
    CHECK(cio_hook_enabled());
    close(sv[0]);
    close(sv[1]);
}

/* ---- another thread while the hub runs: the real calls ---- */

static void *thread_read(void *arg)
{
    int fd = *(int *)arg;
    char buf[8];
    CHECK(!cio_hook_enabled());
    CHECK(cio_task_self() == NULL);
    CHECK_EQ(read(fd, buf, sizeof(buf)), 6); /* blocks this thread only */
    CHECK_EQ(usleep(1000), 0);
    return NULL;
}

static void other_thread(void)
{
    int sv[2];
    stream_pair(sv);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_read, &sv[0]) == 0);
    usleep(20000); /* cooperative here; the thread sits in its read */
    CHECK_EQ(write(sv[1], "thread", 6), 6);
    CHECK(pthread_join(th, NULL) == 0);
    close(sv[0]);
    close(sv[1]);
}

static void *main_task(void *arg)
{
    other_thread();
    each_call_waits();
    big_writes();
    waitall();
    nonblocking();
    timeouts();
    closed_fds();
    kill_and_interrupt();
    pipes_and_files();
    streamed_then_hooked();
    switched_off();
    return NULL;
}

int main(void)
{
    alarm(60); /* a call that blocked the thread would hang: fail instead */
    signal(SIGPIPE, SIG_IGN);
    outside();
    CHECK(cio_hub_run(NULL, main_task, NULL) == 0);
    outside(); /* after the hub is gone: real calls again */
    return 0;
}
