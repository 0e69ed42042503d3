/* The other hooked calls: accept, connect, poll, __poll, select,
 * epoll_wait, sleep, usleep, nanosleep, clock_nanosleep, getaddrinfo;
 * outside a task (the real calls) and inside (cooperative), with
 * O_NONBLOCK and SO_RCVTIMEO set by the program, closed fds, cio_task_kill.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "hook_util.h"

extern int __poll(struct pollfd *fds, nfds_t n, int timeout);

/* A blocking listening socket on 127.0.0.1, port 0; *sa gets its address. */
static int listener(struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(*sa);
    CHECK(bind(fd, (struct sockaddr *)sa, len) == 0);
    CHECK(listen(fd, 16) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)sa, &len) == 0);
    return fd;
}

/* ---- outside a task ---- */

static void outside(void)
{
    struct sockaddr_in sa;
    int l = listener(&sa);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    int a = accept(l, NULL, NULL);
    CHECK(a >= 0);
    struct pollfd p = {.fd = a, .events = POLLIN};
    CHECK_EQ(poll(&p, 1, 30), 0);
    CHECK_EQ(write(c, "x", 1), 1);
    CHECK_EQ(poll(&p, 1, 1000), 1);
    CHECK_EQ(__poll(&p, 1, 0), 1);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(a, &rd);
    struct timeval tv = {1, 0};
    CHECK_EQ(select(a + 1, &rd, NULL, NULL, &tv), 1);
    CHECK(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
    CHECK_EQ(accept(l, NULL, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    double t0 = now_ms();
    CHECK_EQ(usleep(20000), 0);
    struct timespec ts = {0, 10 * 1000000};
    CHECK_EQ(nanosleep(&ts, NULL), 0);
    CHECK(now_ms() - t0 >= 30);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    CHECK_EQ(getaddrinfo("127.0.0.1", "80", &hints, &res), 0);
    freeaddrinfo(res);
    close(a);
    close(c);
    close(l);
}

/* ---- accept and connect ---- */

struct dialer {
    struct sockaddr_in sa; /* where to connect */
    int rc;                /* connect's result */
    int err;               /* its errno */
    int fd;                /* the socket */
};

static void *dial(void *arg)
{
    struct dialer *d = arg;
    usleep(20000);
    d->fd = socket(AF_INET, SOCK_STREAM, 0);
    d->rc = connect(d->fd, (struct sockaddr *)&d->sa, sizeof(d->sa));
    d->err = errno;
    return NULL;
}

static void accept_connect(void)
{
    struct dialer d;
    int l = listener(&d.sa);
    ticker_start();
    cio_task_t *t = spawn(dial, &d);
    int a = accept(l, NULL, NULL); /* waits 20 ms for the dialer */
    CHECK(a >= 0);
    CHECK(ticker_stop() > 0);
    join(t);
    CHECK_EQ(d.rc, 0);
    /* The connected socket is still a blocking one, as the program made it. */
    CHECK(!(fcntl(d.fd, F_GETFL) & O_NONBLOCK));
    CHECK(!(fcntl(a, F_GETFL) & O_NONBLOCK));
    CHECK_EQ(write(d.fd, "hi", 2), 2);
    char buf[4];
    CHECK_EQ(read(a, buf, sizeof(buf)), 2);
    close(a);
    close(d.fd);

    t = spawn(dial, &d);
    a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    CHECK(a >= 0);
    CHECK(fcntl(a, F_GETFD) & FD_CLOEXEC);
    join(t);
    close(a);
    close(d.fd);

    /* SO_RCVTIMEO on the listener: accept gives up with EAGAIN. */
    set_timeout(l, SO_RCVTIMEO, 50);
    double t0 = now_ms();
    CHECK_EQ(accept(l, NULL, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    CHECK(now_ms() - t0 >= 40);

    /* Non-blocking by the program's choice: EAGAIN at once. */
    CHECK(fcntl(l, F_SETFL, O_NONBLOCK) == 0);
    CHECK_EQ(accept(l, NULL, NULL), -1);
    CHECK_EQ(errno, EAGAIN);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int rc = connect(c, (struct sockaddr *)&d.sa, sizeof(d.sa));
    CHECK(rc == 0 || errno == EINPROGRESS);
    close(c);
    close(l);

    /* A refused connection; a closed fd. */
    c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK_EQ(connect(c, (struct sockaddr *)&d.sa, sizeof(d.sa)), -1);
    CHECK_EQ(errno, ECONNREFUSED);
    close(c);
    CHECK_EQ(connect(c, (struct sockaddr *)&d.sa, sizeof(d.sa)), -1);
    CHECK_EQ(errno, EBADF);
    CHECK_EQ(accept(l, NULL, NULL), -1);
    CHECK_EQ(errno, EBADF);
}

/* ---- poll, __poll, select, epoll_wait ---- */

static void *write_later(void *arg)
{
    usleep(20000);
    CHECK_EQ(write(*(int *)arg, "!", 1), 1);
    return NULL;
}

static void polls(void)
{
    int sv[2];
    char c;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    ticker_start();
    cio_task_t *t = spawn(write_later, &sv[1]);
    struct pollfd p[2] = {{.fd = -1}, {.fd = sv[0], .events = POLLIN}};
    CHECK_EQ(poll(p, 2, 5000), 1);
    CHECK(p[1].revents & POLLIN);
    CHECK(ticker_stop() > 0);
    join(t);
    CHECK_EQ(read(sv[0], &c, 1), 1);

    double t0 = now_ms();
    CHECK_EQ(__poll(&p[1], 1, 50), 0); /* times out */
    CHECK(now_ms() - t0 >= 40);
    CHECK_EQ(poll(p, 1, 30), 0); /* only a negative fd: a sleep */

    t = spawn(write_later, &sv[1]);
    fd_set rd, wr;
    FD_ZERO(&rd);
    FD_ZERO(&wr);
    FD_SET(sv[0], &rd);
    struct timeval tv = {5, 0};
    CHECK_EQ(select(sv[0] + 1, &rd, &wr, NULL, &tv), 1);
    CHECK(FD_ISSET(sv[0], &rd));
    CHECK(tv.tv_sec < 5); /* Linux leaves the time not slept */
    join(t);
    CHECK_EQ(read(sv[0], &c, 1), 1);
    FD_SET(sv[0], &rd);
    tv = (struct timeval){0, 50000};
    CHECK_EQ(select(sv[0] + 1, &rd, NULL, NULL, &tv), 0);
    CHECK(!FD_ISSET(sv[0], &rd));
    tv = (struct timeval){0, 20000};
    CHECK_EQ(select(0, NULL, NULL, NULL, &tv), 0); /* the classic sleep */

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = sv[0]}, out[4];
    CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0);
    t = spawn(write_later, &sv[1]);
    CHECK_EQ(epoll_wait(ep, out, 4, 5000), 1);
    CHECK_EQ(out[0].data.fd, sv[0]);
    join(t);
    CHECK_EQ(read(sv[0], &c, 1), 1);
    CHECK_EQ(epoll_wait(ep, out, 4, 30), 0);
    close(ep);

    /* A closed fd: poll reports POLLNVAL, select EBADF. */
    int dead = dup(sv[0]);
    close(dead);
    struct pollfd pd = {.fd = dead, .events = POLLIN};
    CHECK_EQ(poll(&pd, 1, 1000), 1);
    CHECK(pd.revents & POLLNVAL);
    FD_ZERO(&rd);
    FD_SET(dead, &rd);
    tv = (struct timeval){1, 0};
    CHECK_EQ(select(dead + 1, &rd, NULL, NULL, &tv), -1);
    CHECK_EQ(errno, EBADF);

    /* Regular files are always ready, as with poll(2). */
    pd = (struct pollfd){.fd = open("/dev/null", O_RDONLY), .events = POLLIN};
    CHECK_EQ(poll(&pd, 1, -1), 1);
    close(pd.fd);
    close(sv[0]);
    close(sv[1]);
}

/* ---- sleeps ---- */

static void *nap(void *arg)
{
    int which = *(int *)arg;
    struct timespec ts = {0, 100 * 1000000};
    switch (which % 4) {
    case 0:
        CHECK_EQ(usleep(100000), 0);
        break;
    case 1:
        CHECK_EQ(nanosleep(&ts, NULL), 0);
        break;
    case 2:
        CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL), 0);
        break;
    default: {
        struct pollfd none = {.fd = -1};
        CHECK_EQ(poll(&none, 1, 100), 0);
    }
    }
    return NULL;
}

struct sleeper {
    int err;             /* errno of the interrupted call */
    struct timespec rem; /* what nanosleep says was left */
    unsigned left;       /* what sleep() says was left */
};

static void *long_nap(void *arg)
{
    struct sleeper *s = arg;
    struct timespec ts = {5, 0};
    s->err = nanosleep(&ts, &s->rem) < 0 ? errno : 0;
    s->left = sleep(5);
    return NULL;
}

static void sleeps(void)
{
    enum { N = 12 };
    int which[N];
    cio_task_t *t[N];
    double t0 = now_ms();
    for (int i = 0; i < N; i++) {
        which[i] = i;
        t[i] = spawn(nap, &which[i]);
    }
    CHECK(cio_task_join_all(t, N, -1) == 0);
    for (int i = 0; i < N; i++)
        cio_task_free(t[i]);
    double took = now_ms() - t0;
    CHECK(took >= 95);
    CHECK(took < 100.0 * N / 2); /* one after another would be 1.2 s */

    /* An absolute clock_nanosleep. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 30 * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    t0 = now_ms();
    CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL), 0);
    CHECK(now_ms() - t0 >= 25);
    CHECK_EQ(sleep(0), 0);

    /* Interrupted: EINTR and the time left; killed: ECANCELED. */
    struct sleeper s = {0};
    cio_task_t *v = spawn(long_nap, &s);
    cio_task_sleep(20);
    CHECK(cio_task_interrupt(v) == 0);
    cio_task_sleep(20);
    CHECK(cio_task_kill(v) == 0);
    join(v);
    CHECK_EQ(s.err, EINTR);
    CHECK(s.rem.tv_sec >= 4 && s.rem.tv_sec <= 5);
    CHECK(s.left >= 4 && s.left <= 5);
}

/* ---- getaddrinfo on the offload pool ---- */

static void *resolve(void *arg)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM},
                    *res;
    CHECK_EQ(getaddrinfo("localhost", "21", &hints, &res), 0);
    CHECK_EQ(res->ai_family, AF_INET);
    CHECK_EQ(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port), 21);
    freeaddrinfo(res);
    *(int *)arg = 1;
    return NULL;
}

static void *resolve_killed(void *arg)
{
    struct addrinfo *res;
    cio_task_kill(cio_task_self());
    *(int *)arg = getaddrinfo("localhost", NULL, NULL, &res);
    CHECK_EQ(errno, ECANCELED);
    return NULL;
}

static void lookups(void)
{
    enum { N = 20 };
    int done[N] = {0};
    cio_task_t *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn(resolve, &done[i]);
    CHECK(cio_task_join_all(t, N, -1) == 0);
    for (int i = 0; i < N; i++) {
        CHECK(done[i]);
        cio_task_free(t[i]);
    }
    /* The exact error codes come back. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    CHECK_EQ(getaddrinfo("127.0.0.1", "no-such-service-here", &hints, &res),
             EAI_SERVICE);
    hints.ai_flags = AI_NUMERICHOST;
    CHECK_EQ(getaddrinfo("not.a.number", "80", &hints, &res), EAI_NONAME);
    CHECK_EQ(getaddrinfo(NULL, NULL, NULL, &res), EAI_NONAME);
    int rc = 0;
    cio_task_t *k = spawn(resolve_killed, &rc);
    join(k);
    CHECK_EQ(rc, EAI_SYSTEM);
}

/* ---- kill a task blocked in accept and in poll ---- */

struct blocked {
    int fd;  /* the fd it waits on */
    int err; /* errno of the call */
};

static void *blocked_accept(void *arg)
{
    struct blocked *b = arg;
    b->err = accept(b->fd, NULL, NULL) < 0 ? errno : 0;
    return NULL;
}

static void *blocked_poll(void *arg)
{
    struct blocked *b = arg;
    struct pollfd p = {.fd = b->fd, .events = POLLIN};
    b->err = poll(&p, 1, -1) < 0 ? errno : 0;
    return NULL;
}

static void kills(void)
{
    struct sockaddr_in sa;
    int l = listener(&sa);
    struct blocked b1 = {l, 0}, b2 = {l, 0};
    cio_task_t *t1 = spawn(blocked_accept, &b1);
    cio_task_t *t2 = spawn(blocked_poll, &b2);
    cio_task_sleep(20);
    CHECK(cio_task_kill(t1) == 0);
    CHECK(cio_task_kill(t2) == 0);
    join(t1);
    join(t2);
    CHECK_EQ(b1.err, ECANCELED);
    CHECK_EQ(b2.err, ECANCELED);
    close(l);
}

static void *main_task(void *arg)
{
    accept_connect();
    polls();
    sleeps();
    lookups();
    kills();
    return NULL;
}

int main(void)
{
    alarm(60);
    signal(SIGPIPE, SIG_IGN);
    outside();
    CHECK(cio_hub_run(NULL, main_task, NULL) == 0);
    outside();
    return 0;
}
