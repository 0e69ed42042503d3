/* cio_task_kill of a task blocked in each kind of wait: the wait returns
 * -ECANCELED, so does every later blocking call, and the task's status says
 * it was killed. cio_task_interrupt gives one -EINTR and the task goes on.
 * Both hold for IO calls that could go through at once.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum kind {
    K_SLEEP,
    K_JOIN,
    K_QGET,
    K_QPUT,
    K_EVENT,
    K_SEM,
    K_LOCK,
    K_WG,
    K_POOL_SPAWN,
    K_POOL_JOIN,
    K_READ,
    K_WRITE,
    K_ACCEPT,
    K_POLL,
    K_OFFLOAD,
    K_SLEEP_DEADLINE,
    K_CONNECT,
    K_COUNT
};

static const char *names[K_COUNT] = {
    "sleep",      "join",      "queue get", "queue put",
    "event",      "semaphore", "lock",      "waitgroup",
    "pool spawn", "pool join", "read",      "write",
    "accept",     "poll",      "offload",   "sleep with deadline",
    "connect"};

/* Things to wait on, set up by main_task. */
static cio_task_t *forever;
static cio_queue_t *empty_q, *full_q;
static cio_event_t *ev;
static cio_sem_t *sem;
static cio_lock_t *lock;
static cio_waitgroup_t *wg;
static cio_pool_t *pool;
static int sp[2];   /* socket pair: nothing is ever sent on it */
static int full_fd; /* a socket whose send buffer is full */
static int listen_fd;
static int full_port; /* a listener whose accept queue is full */
static int results[K_COUNT], after[K_COUNT];

static void *sleep_forever(void *arg)
{
    (void)arg;
    cio_task_sleep(-1);
    return NULL;
}

static long slow_job(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    return 5;
}

static void *victim(void *arg)
{
    int k = (int)(intptr_t)arg;
    void *item;
    char buf[64] = {0};
    struct pollfd pfd = {.fd = sp[0], .events = POLLIN};
    int rc = 0;
    switch (k) {
    case K_SLEEP:
        rc = cio_task_sleep(-1);
        break;
    case K_SLEEP_DEADLINE:
        rc = cio_task_sleep(10000);
        break;
    case K_JOIN:
        rc = cio_task_join(forever, -1);
        break;
    case K_QGET:
        rc = cio_queue_get(empty_q, &item, -1);
        break;
    case K_QPUT:
        rc = cio_queue_put(full_q, buf, -1);
        break;
    case K_EVENT:
        rc = cio_event_wait(ev, -1);
        break;
    case K_SEM:
        rc = cio_sem_acquire(sem, -1);
        break;
    case K_LOCK:
        rc = cio_lock_acquire(lock, -1);
        break;
    case K_WG:
        rc = cio_waitgroup_wait(wg, -1);
        break;
    case K_POOL_SPAWN:
        rc = cio_pool_spawn(pool, NULL, sleep_forever, NULL, -1);
        break;
    case K_POOL_JOIN:
        rc = cio_pool_join(pool, -1);
        break;
    case K_READ:
        rc = (int)cio_fd_read(sp[0], buf, sizeof buf, -1);
        break;
    case K_WRITE:
        rc = (int)cio_fd_write(full_fd, buf, sizeof buf, -1);
        break;
    case K_ACCEPT:
        rc = cio_sock_accept(listen_fd, NULL, NULL, -1);
        break;
    case K_POLL:
        rc = cio_fd_poll(&pfd, 1, -1);
        break;
    case K_OFFLOAD:
        rc = cio_offload_run(NULL, CIO_OFFLOAD_FILE, slow_job, NULL, -1);
        break;
    case K_CONNECT:
        rc = cio_tcp_dial("127.0.0.1", (uint16_t)full_port, -1);
        if (rc >= 0) { /* the queue had room after all: not a blocked wait */
            cio_fd_close(rc);
            rc = -EAGAIN;
        }
        break;
    }
    results[k] = rc;
    CHECK(cio_task_cancelled());
    /* every later blocking call is cancelled too */
    after[k] = cio_task_sleep(1);
    CHECK_EQ(cio_fd_read(sp[0], buf, 1, 0), -ECANCELED);
    CHECK_EQ(cio_queue_get(empty_q, &item, 0), -ECANCELED);
    return (void *)(intptr_t)k;
}

static void *interrupted(void *arg)
{
    (void)arg;
    void *item;
    CHECK_EQ(cio_queue_get(empty_q, &item, -1), -EINTR);
    CHECK_EQ(cio_task_sleep(1), 0); /* only one call was interrupted */
    CHECK(!cio_task_cancelled());
    return (void *)1;
}

/* IO calls that could go through at once (data waiting, room to write)
 * still see a kill or an interrupt: from a task killed while ready, and
 * from one that interrupts itself before each call. */
static int io_sv[2];

static void *killed_while_ready(void *arg)
{
    (void)arg;
    char c;
    cio_task_sleep(0); /* ready again when it is killed */
    CHECK_EQ(cio_fd_write(io_sv[0], "k", 1, -1), -ECANCELED);
    CHECK_EQ(cio_fd_read(io_sv[0], &c, 1, -1), -ECANCELED);
    CHECK_EQ(cio_sock_send(io_sv[0], "k", 1, 0, -1), -ECANCELED);
    CHECK_EQ(cio_sock_recv(io_sv[0], &c, 1, 0, -1), -ECANCELED);
    return (void *)1;
}

static void *interrupts_itself(void *arg)
{
    (void)arg;
    char c;
    cio_task_t *self = cio_task_self();
    CHECK_EQ(cio_task_interrupt(self), 0);
    CHECK_EQ(cio_sock_recv(io_sv[0], &c, 1, 0, -1), -EINTR);
    CHECK_EQ(cio_fd_write(io_sv[0], "i", 1, -1), 1); /* one call only */
    CHECK_EQ(cio_task_interrupt(self), 0);
    CHECK_EQ(cio_fd_write(io_sv[0], "i", 1, -1), -EINTR);
    CHECK_EQ(cio_task_interrupt(self), 0);
    CHECK_EQ(cio_sock_send(io_sv[0], "i", 1, 0, -1), -EINTR);
    CHECK_EQ(cio_task_interrupt(self), 0);
    CHECK_EQ(cio_fd_read(io_sv[0], &c, 1, -1), -EINTR);
    CHECK_EQ(cio_fd_read(io_sv[0], &c, 1, -1), 1);
    CHECK(!cio_task_cancelled());
    return (void *)1;
}

/* Interrupted while data arrives: one read gets the data, the current or
 * the next gets -EINTR; neither is lost (the ring may complete the read
 * the interrupt was cancelling). */
static void *reads_twice(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b[8];
    ssize_t r1 = cio_fd_read(fd, b, sizeof b, -1);
    ssize_t r2 = cio_fd_read(fd, b, sizeof b, cio_deadline_in(5000));
    CHECK((r1 == 2 && r2 == -EINTR) || (r1 == -EINTR && r2 == 2));
    return (void *)1;
}

static void interrupt_as_data_comes(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, reads_twice, (void *)(intptr_t)sv[0]), 0);
    cio_task_sleep(0);
    cio_task_sleep(0); /* it waits in its first read */
    CHECK_EQ(cio_task_interrupt(t), 0);
    CHECK_EQ(write(sv[1], "zz", 2), 2);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(10000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), 1);
    cio_task_free(t);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
}

/* Interrupted as the peer resets the connection: one read gets
 * -ECONNRESET, the current or the next -EINTR; neither is lost (the ring
 * may complete the read the interrupt was cancelling, with the error, which
 * the socket then no longer holds: a read after it finds EOF). */
static void *reads_reset(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char b[8];
    ssize_t r1 = cio_fd_read(fd, b, sizeof b, -1);
    ssize_t r2 = cio_fd_read(fd, b, sizeof b, cio_deadline_in(5000));
    if (!((r1 == -ECONNRESET && r2 == -EINTR) ||
          (r1 == -EINTR && r2 == -ECONNRESET))) {
        fprintf(stderr, "interrupted as the peer resets: %zd then %zd\n", r1,
                r2);
        exit(1);
    }
    return (void *)1;
}

/* in_kernel: on the ring, the read reaches the kernel before the reset
 * (the hub looks at its loop first); else together with its cancel. */
static void interrupt_as_reset_comes(bool in_kernel)
{
    int lfd = cio_tcp_listen("127.0.0.1", 0, 1, -1);
    CHECK(lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)cio_sock_port(lfd)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    /* The peer by plain system calls: it lets no other task run. */
    int peer = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(peer >= 0);
    CHECK_EQ(connect(peer, (struct sockaddr *)&a, sizeof a), 0);
    int fd = cio_sock_accept(lfd, NULL, NULL, cio_deadline_in(5000));
    CHECK(fd >= 0);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, reads_reset, (void *)(intptr_t)fd), 0);
    if (in_kernel)
        cio_task_sleep(5);
    cio_task_sleep(0);
    cio_task_sleep(0); /* it waits in its first read */
    CHECK(!cio_task_done(t));
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    CHECK_EQ(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    CHECK_EQ(close(peer), 0); /* a reset */
    CHECK_EQ(cio_task_interrupt(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(10000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), 1);
    cio_task_free(t);
    cio_fd_close(fd);
    cio_fd_close(lfd);
}

static void ready_calls(void)
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, io_sv), 0);
    CHECK_EQ(write(io_sv[1], "abcd", 4), 4);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, killed_while_ready, NULL), 0);
    cio_task_sleep(0); /* it runs, and is ready again */
    CHECK(!cio_task_done(t));
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), 1);
    CHECK_EQ(cio_task_status(t), -ECANCELED);
    cio_task_free(t);
    CHECK_EQ(cio_task_spawn(&t, interrupts_itself, NULL), 0);
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    CHECK_EQ((intptr_t)cio_task_result(t), 1);
    cio_task_free(t);
    cio_fd_close(io_sv[0]);
    cio_fd_close(io_sv[1]);
    interrupt_as_data_comes();
    interrupt_as_reset_comes(false);
    interrupt_as_reset_comes(true);
}

static void fill(int fd)
{
    char chunk[4096] = {0};
    while (send(fd, chunk, sizeof chunk, MSG_DONTWAIT) > 0)
        ;
}

static void *main_task(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_task_spawn(&forever, sleep_forever, NULL), 0);
    CHECK_EQ(cio_queue_new(&empty_q, 0), 0);
    CHECK_EQ(cio_queue_new(&full_q, 1), 0);
    CHECK_EQ(cio_queue_put(full_q, NULL, 0), 0);
    CHECK_EQ(cio_event_new(&ev), 0);
    CHECK_EQ(cio_sem_new(&sem, 0), 0);
    CHECK_EQ(cio_lock_new(&lock), 0);
    CHECK_EQ(cio_lock_acquire(lock, -1), 0);
    CHECK_EQ(cio_waitgroup_new(&wg), 0);
    cio_waitgroup_add(wg, 1);
    CHECK_EQ(cio_pool_new(&pool, 1), 0);
    cio_task_t *occupant;
    CHECK_EQ(cio_pool_spawn(pool, &occupant, sleep_forever, NULL, -1), 0);
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    int fp[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fp), 0);
    full_fd = fp[0];
    fill(full_fd);
    listen_fd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(listen_fd >= 0);
    /* Fill the accept queue of a backlog-0 listener: further SYNs are
     * dropped, so a connect waits (for SYN retransmits) until killed. */
    int lq_fd = cio_tcp_listen("127.0.0.1", 0, 1, -1);
    CHECK(lq_fd >= 0);
    CHECK_EQ(listen(lq_fd, 0), 0);
    full_port = cio_sock_port(lq_fd);
    int fillers[8], nfill = 0;
    for (; nfill < 8; nfill++) {
        fillers[nfill] = cio_tcp_dial("127.0.0.1", (uint16_t)full_port,
                                      cio_deadline_in(200));
        if (fillers[nfill] < 0)
            break;
    }
    CHECK(nfill < 8); /* a dial timed out: the queue is full */

    for (int k = 0; k < K_COUNT; k++) {
        cio_task_t *t;
        results[k] = after[k] = 12345;
        CHECK_EQ(cio_task_spawn(&t, victim, (void *)(intptr_t)k), 0);
        CHECK_EQ(cio_task_sleep(5), 0); /* it runs and blocks */
        CHECK(!cio_task_done(t));
        CHECK_EQ(cio_task_kill(t), 0);
        CHECK_EQ(cio_task_kill(t), 0); /* twice is harmless */
        CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
        if (results[k] != -ECANCELED || after[k] != -ECANCELED) {
            fprintf(stderr, "kill during %s: %d then %d\n", names[k],
                    results[k], after[k]);
            exit(1);
        }
        CHECK_EQ(cio_task_status(t), -ECANCELED);
        CHECK_EQ((intptr_t)cio_task_result(t), k);
        cio_task_free(t);
    }

    /* a killed task that has not run yet still runs, cancelled */
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, victim, (void *)K_SLEEP), 0);
    CHECK_EQ(cio_task_kill(t), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    CHECK_EQ(results[K_SLEEP], -ECANCELED);
    cio_task_free(t);

    /* interrupt of a waiting task, and of one that is not waiting yet */
    CHECK_EQ(cio_task_spawn(&t, interrupted, NULL), 0);
    CHECK_EQ(cio_task_sleep(2), 0);
    CHECK_EQ(cio_task_interrupt(t), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    CHECK_EQ(cio_task_status(t), 0);
    cio_task_free(t);
    CHECK_EQ(cio_task_spawn(&t, interrupted, NULL), 0);
    CHECK_EQ(cio_task_interrupt(t), 0);
    CHECK_EQ(cio_task_join(t, -1), 0);
    cio_task_free(t);

    /* the things waited on still work after the kills */
    CHECK_EQ(cio_queue_put(empty_q, (void *)9, 0), 0);
    void *item;
    CHECK_EQ(cio_queue_get(empty_q, &item, 0), 0);
    CHECK_EQ((intptr_t)item, 9);
    CHECK_EQ(cio_lock_release(lock), 0);
    CHECK_EQ(cio_lock_acquire(lock, 0), 0);
    CHECK_EQ(cio_lock_release(lock), 0);

    CHECK_EQ(cio_task_kill(forever), 0);
    CHECK_EQ(cio_task_kill(occupant), 0);
    CHECK_EQ(cio_task_join(forever, -1), 0);
    CHECK_EQ(cio_pool_join(pool, -1), 0);
    cio_task_free(forever);
    cio_task_free(occupant);
    cio_pool_free(pool);
    cio_queue_free(empty_q);
    cio_queue_free(full_q);
    cio_event_free(ev);
    cio_sem_free(sem);
    cio_lock_free(lock);
    cio_waitgroup_free(wg);
    cio_fd_close(sp[0]);
    cio_fd_close(sp[1]);
    cio_fd_close(fp[0]);
    cio_fd_close(fp[1]);
    cio_fd_close(listen_fd);
    for (int i = 0; i < nfill; i++)
        cio_fd_close(fillers[i]);
    cio_fd_close(lq_fd);
    ready_calls();
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
