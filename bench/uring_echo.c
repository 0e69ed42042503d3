/* The io_uring limit for the echo benchmark: a hand-written liburing echo
 * server, no coroutines. Multishot accept; a multishot recv per connection
 * into a ring of provided buffers; each reply sent straight from the buffer
 * the data landed in, which goes back to the ring when the send completes;
 * SINGLE_ISSUER | DEFER_TASKRUN; one io_uring_submit_and_wait per loop
 * iteration for every connection. Same flags and ready line as
 * bench_epoll_echo (TCP_NODELAY).
 *
 *   bench_uring_echo [-p PORT] [-s]
 * -s: IORING_SETUP_SQPOLL instead of DEFER_TASKRUN (a kernel thread of
 * this process polls the submission queue; its CPU time counts here).
 * Prints "listening on 127.0.0.1:PORT"; exits 0 on SIGINT or SIGTERM.
 * Built without liburing, or where io_uring (or a feature it needs) is
 * missing, it prints SKIP and exits 77. */
#include <stdio.h>

#if !defined(CIO_HAVE_URING)
int main(void)
{
    puts("SKIP: built without liburing (liburing-dev)");
    return 77;
}
#else
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"

#define NBUFS 4096 /* provided buffers (a power of two) */
#define BUFSZ 2048 /* bytes each */

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static unsigned sent_len[NBUFS]; /* bytes of buffer bid sent so far */
static unsigned want_len[NBUFS]; /* bytes of buffer bid to send */
static volatile sig_atomic_t stopping;

static void on_signal(int signum)
{
    (void)signum;
    stopping = 1;
}

/* user_data: the operation in bits 0-7, the fd in 8-39, a buffer id in
 * 40-55. */
static uint64_t tag(int op, int fd, unsigned bid)
{
    return (uint64_t)op | ((uint64_t)(uint32_t)fd << 8) | ((uint64_t)bid << 40);
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (!sqe) {
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
    }
    return sqe;
}

static void arm_accept(int lfd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_NONBLOCK);
    sqe->user_data = tag(OP_ACCEPT, lfd, 0);
}

static void arm_recv(int fd)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    sqe->user_data = tag(OP_RECV, fd, 0);
}

static void send_rest(int fd, unsigned bid)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_send(sqe, fd, bufs + (size_t)bid * BUFSZ + sent_len[bid],
                       want_len[bid] - sent_len[bid], MSG_NOSIGNAL);
    sqe->user_data = tag(OP_SEND, fd, bid);
}

static void give_back(unsigned bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ,
                          (unsigned short)bid, io_uring_buf_ring_mask(NBUFS),
                          0);
    io_uring_buf_ring_advance(br, 1);
}

static void on_cqe(int lfd, const struct io_uring_cqe *cqe)
{
    int op = (int)(cqe->user_data & 0xff);
    int fd = (int)(uint32_t)(cqe->user_data >> 8);
    unsigned bid = (unsigned)(cqe->user_data >> 40) & 0xffff;
    int res = cqe->res;
    bool more = cqe->flags & IORING_CQE_F_MORE;
    switch (op) {
    case OP_ACCEPT:
        if (res >= 0) {
            int one = 1;
            setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            arm_recv(res);
        }
        if (!more && !stopping)
            arm_accept(lfd);
        break;
    case OP_RECV:
        if (res > 0) {
            bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
            want_len[bid] = (unsigned)res;
            sent_len[bid] = 0;
            send_rest(fd, bid);
            if (!more)
                arm_recv(fd);
        } else if (res == -ENOBUFS) {
            if (!more)
                arm_recv(fd); /* every buffer in flight: try again */
        } else if (!more) {
            close(fd); /* EOF or error: the multishot recv has ended */
        }
        break;
    case OP_SEND:
        if (res > 0 && sent_len[bid] + (unsigned)res < want_len[bid]) {
            sent_len[bid] += (unsigned)res;
            send_rest(fd, bid);
        } else {
            give_back(bid); /* an error: the recv side sees it too */
        }
        break;
    }
}

static int setup_ring(bool sqpoll)
{
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE |
              (sqpoll ? IORING_SETUP_SQPOLL : IORING_SETUP_DEFER_TASKRUN);
    p.sq_thread_idle = 100; /* ms of spinning before the poller sleeps */
    p.cq_entries = 65536;
    int rc = io_uring_queue_init_params(4096, &ring, &p);
    if (rc < 0)
        return rc;
    void *mem;
    if (posix_memalign(&mem, 4096, NBUFS * sizeof(struct io_uring_buf)))
        return -ENOMEM;
    br = mem;
    bufs = malloc((size_t)NBUFS * BUFSZ);
    if (!bufs)
        return -ENOMEM;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)br, .ring_entries = NBUFS, .bgid = 0};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0)
        return rc;
    for (unsigned i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUFSZ, BUFSZ,
                              (unsigned short)i, io_uring_buf_ring_mask(NBUFS),
                              (int)i);
    io_uring_buf_ring_advance(br, NBUFS);
    return 0;
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_uring_echo", "[-p PORT] [-s]",
              "A hand-written liburing echo server (multishot recv into a "
              "buffer ring): the\nio_uring baseline of bench/hub.sh.\n  -p PORT"
              "   port on 127.0.0.1 (default 9999; 0 picks one)\n  -s        "
              "SQPOLL\n  --help, --version\n");
    int port = 9999, opt;
    bool sqpoll = false;
    while ((opt = getopt(argc, argv, "p:s")) != -1) {
        if (opt == 's') {
            sqpoll = true;
            continue;
        }
        if (opt != 'p') {
            fprintf(stderr, "usage: %s [-p PORT] [-s]\n", argv[0]);
            return 2;
        }
        port = atoi(optarg);
    }
    int rc = setup_ring(sqpoll);
    if (rc < 0) {
        printf("SKIP: io_uring unavailable here (%s)\n", strerror(-rc));
        return 77;
    }
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET,
                               .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(addr);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        listen(lfd, SOMAXCONN) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
        perror("listen");
        return 1;
    }
    arm_accept(lfd);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    while (!stopping) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            fprintf(stderr, "io_uring_submit_and_wait: %s\n", strerror(-rc));
            return 1;
        }
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            on_cqe(lfd, cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
    }
    io_uring_queue_exit(&ring); /* ends every request; closes nothing */
    close(lfd);
    return 0;
}
#endif
