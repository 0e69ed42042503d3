/* The io_uring backend (Linux, liburing): readiness served by poll
 * operations on a ring, which the hub also uses for operations of its own
 * (src/io/uring.c).
 *
 * Quirks of io_uring as a readiness source:
 * - A multishot poll reports wake-ups (edges), not levels: data left unread
 *   after a report gives no new one. The loop's contract is level-triggered,
 *   so each fd gets a one-shot poll, re-armed after its report while interest
 *   remains; arming checks the current state, which is what level means. The
 *   re-arm is an entry in the next submission, not a system call.
 * - A poll holds a reference to the open file: closing the fd does not end
 *   it (as with epoll, reports for an fd the loop no longer has registered
 *   are dropped). Interest changes remove the old poll by its user_data and
 *   arm a new one with a new generation; late reports of the old are dropped.
 * - Regular files are always ready (poll(2)'s rule), not refused like epoll.
 * - Completions are only reaped on the thread that submits when the ring is
 *   SINGLE_ISSUER|DEFER_TASKRUN: the ring starts disabled and is enabled by
 *   its first submission, so the thread that runs the loop owns it, even if
 *   another thread created it.
 */
#ifdef CIO_HAVE_URING
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "loop/loop-int.h"
#include "loop/uring.h"

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384

/* One fd's poll. */
struct upoll {
    uint32_t gen;  /* generation of the poll in flight: user_data tag */
    uint8_t want;  /* interest asked by the loop */
    uint8_t armed; /* mask of the poll in flight, 0 if none */
    uint8_t rearm; /* listed in rearm[] */
};

struct cio__uring {
    struct io_uring ring;
    bool enabled;      /* created disabled: enabled by first submit */
    bool removed;      /* a poll removed since the last wait for events:
                        * its file is let go only when task work runs */
    bool cold;         /* completions' operations are cold: warm ahead */
    struct upoll *fds; /* indexed by fd */
    int fds_cap;       /* entries in fds */
    int *rearm;        /* fds whose poll fired: re-armed next poll */
    int rearm_len, rearm_cap;
    uint8_t ops[256 / 8];         /* opcodes the kernel supports, a bit each */
    struct io_uring_buf_ring *br; /* provided buffers (group 0), or NULL */
    char *pbufs;                  /* their memory */
    int pbuf_state;               /* 0 not set up, 1 ready, < 0 failed */
};

/* user_data of a poll: bit 0 set, the fd in bits 1-31, the generation in
 * 32-63. Operations' user_data are pointers (bit 0 clear); 0 is ignored. */
static uint64_t poll_tag(int fd, uint32_t gen)
{
    return ((uint64_t)gen << 32) | ((uint64_t)(uint32_t)fd << 1) | 1;
}

static int enable(struct cio__uring *u)
{
    if (u->enabled)
        return 0;
    /* liburing 2.3 declares io_uring_enable_rings but does not export it. */
    if (syscall(__NR_io_uring_register, u->ring.ring_fd,
                IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
        return -errno;
    u->enabled = true;
    return 0;
}

int cio__uring_submit(struct cio__uring *u)
{
    int rc = enable(u);
    return rc < 0 ? rc : io_uring_submit(&u->ring);
}

struct io_uring_sqe *cio__uring_sqe(struct cio__uring *u,
                                    struct cio__uring_op *op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe) {
        (void)cio__uring_submit(u);
        sqe = io_uring_get_sqe(&u->ring);
        if (!sqe)
            return NULL;
    }
    io_uring_sqe_set_data(sqe, op);
    return sqe;
}

bool cio__uring_cq_has(struct cio__uring *u, const struct cio__uring_op *op)
{
    unsigned head;
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&u->ring, head, cqe)
    {
        if (cqe->user_data == (uintptr_t)op &&
            !(cqe->flags & IORING_CQE_F_MORE))
            return true;
    }
    return false;
}

bool cio__uring_has(struct cio__uring *u, int opcode)
{
    return opcode >= 0 && opcode < 256 &&
           (u->ops[opcode / 8] & (1u << (opcode % 8)));
}

struct cio__uring *cio__loop_uring(cio_loop_t *loop)
{
    return loop->ops == &cio__backend_uring ? loop->backend : NULL;
}

/* Small socket reads land in buffers the kernel picks from a ring of them
 * when data arrives, not in a buffer held while the socket is idle: a task
 * copies its data out when it runs (so buffers stay few and warm), and an
 * idle reader holds no memory of its own (its stack may be shrunk). */
int cio__uring_pbufs(struct cio__uring *u)
{
    if (u->pbuf_state)
        return u->pbuf_state < 0 ? u->pbuf_state : 0;
    size_t ring_bytes = CIO__PBUF_COUNT * sizeof(struct io_uring_buf);
    void *br = NULL;
    int rc = -posix_memalign(&br, 4096, ring_bytes);
    if (rc == 0 &&
        !(u->pbufs = malloc((size_t)CIO__PBUF_COUNT * CIO__PBUF_SIZE)))
        rc = -ENOMEM;
    if (rc == 0) {
        u->br = br;
        io_uring_buf_ring_init(u->br);
        struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)br,
                                       .ring_entries = CIO__PBUF_COUNT,
                                       .bgid = 0};
        rc = io_uring_register_buf_ring(&u->ring, &reg, 0);
    }
    if (rc < 0) {
        free(br);
        free(u->pbufs);
        u->br = NULL;
        u->pbufs = NULL;
        u->pbuf_state = rc;
        return rc;
    }
    int mask = io_uring_buf_ring_mask(CIO__PBUF_COUNT);
    for (int i = 0; i < CIO__PBUF_COUNT; i++)
        io_uring_buf_ring_add(u->br, u->pbufs + (size_t)i * CIO__PBUF_SIZE,
                              CIO__PBUF_SIZE, (unsigned short)i, mask, i);
    io_uring_buf_ring_advance(u->br, CIO__PBUF_COUNT);
    u->pbuf_state = 1;
    return 0;
}

const void *cio__uring_pbuf(struct cio__uring *u, unsigned bid)
{
    return u->pbufs + (size_t)(bid % CIO__PBUF_COUNT) * CIO__PBUF_SIZE;
}

void cio__uring_pbuf_put(struct cio__uring *u, unsigned bid)
{
    bid %= CIO__PBUF_COUNT;
    io_uring_buf_ring_add(u->br, u->pbufs + (size_t)bid * CIO__PBUF_SIZE,
                          CIO__PBUF_SIZE, (unsigned short)bid,
                          io_uring_buf_ring_mask(CIO__PBUF_COUNT), 0);
    io_uring_buf_ring_advance(u->br, 1);
}

/* Opcodes the backend cannot work without. */
static const int needed[] = {IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE,
                             IORING_OP_ASYNC_CANCEL};

static int probe(struct cio__uring *u)
{
    if (!(u->ring.features & IORING_FEAT_EXT_ARG) ||
        !(u->ring.features & IORING_FEAT_NODROP))
        return -ENOTSUP; /* a timed wait in one call; no lost completion */
    struct io_uring_probe *p = io_uring_get_probe_ring(&u->ring);
    if (!p)
        return -ENOTSUP;
    for (int op = 0; op < 256 && op <= p->last_op; op++)
        if (io_uring_opcode_supported(p, op))
            u->ops[op / 8] |= (uint8_t)(1u << (op % 8));
    io_uring_free_probe(p);
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++)
        if (!cio__uring_has(u, needed[i]))
            return -ENOTSUP;
    return 0;
}

static int uring_init(void **state)
{
    const char *off = getenv("CIO_URING_DISABLE");
    if (off && *off && strcmp(off, "0") != 0)
        return -ENOSYS; /* as a kernel without io_uring would say */
    struct cio__uring *u = calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    struct io_uring_params p = {0};
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
    p.cq_entries = CQ_ENTRIES;
    int rc = io_uring_queue_init_params(SQ_ENTRIES, &u->ring, &p);
    if (rc == -EINVAL) { /* before 6.1: no DEFER_TASKRUN */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE;
        p.cq_entries = CQ_ENTRIES;
        rc = io_uring_queue_init_params(SQ_ENTRIES, &u->ring, &p);
        u->enabled = true;
    }
    if (rc < 0) {
        free(u);
        return rc;
    }
    rc = probe(u);
    if (rc < 0) {
        io_uring_queue_exit(&u->ring);
        free(u);
        return rc;
    }
    *state = u;
    return 0;
}

/* user_data of the cancel that ends every request when the loop is freed
 * (a pointer is never 2). */
#define CANCEL_ALL_TAG 2

/* Ends every request still in flight and waits for it: a poll holds its
 * file open (a listener would go on accepting), and the ring's teardown in
 * the kernel would otherwise finish them later, interrupting this thread's
 * next blocking call. */
static void drain(struct cio__uring *u)
{
    if (!u->enabled || enable(u) < 0)
        return;
    struct io_uring_sqe *sqe = cio__uring_sqe(u, NULL);
    if (!sqe)
        return;
    io_uring_prep_cancel64(sqe, 0,
                           IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
    sqe->user_data = CANCEL_ALL_TAG;
    for (int round = 0; round < 100; round++) {
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_nsec = 10 * 1000000L};
        int rc = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
        if (rc < 0 && rc != -ETIME && rc != -EINTR)
            return;
        bool done = false;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&u->ring, head, cqe)
        {
            done |= cqe->user_data == CANCEL_ALL_TAG;
            seen++;
        }
        io_uring_cq_advance(&u->ring, seen);
        if (done)
            return;
    }
}

/* The kernel's teardown of a ring ends with a notification to every thread
 * that submitted on it (task work with TWA_SIGNAL), some time after the
 * close. It interrupts whatever that thread sleeps in next: a blocking call
 * with a timeout (SO_RCVTIMEO) then fails with EINTR. So the thread waits
 * for it here, in such a call of its own, briefly (bounded: 50 ms). */
static void absorb_teardown(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    struct timeval tv = {.tv_usec = 50000};
    char c;
    if (setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0)
        (void)recv(sv[0], &c, 1, 0);
    close(sv[0]);
    close(sv[1]);
}

static void uring_free(void *state)
{
    struct cio__uring *u = state;
    bool used = u->enabled;
    drain(u);
    io_uring_queue_exit(&u->ring);
    if (used)
        absorb_teardown();
    free(u->br);
    free(u->pbufs);
    free(u->fds);
    free(u->rearm);
    free(u);
}

static int reserve(struct cio__uring *u, int fd)
{
    if (fd < u->fds_cap)
        return 0;
    int cap = u->fds_cap ? u->fds_cap : 64;
    while (cap <= fd)
        cap *= 2;
    struct upoll *fds = realloc(u->fds, (size_t)cap * sizeof *fds);
    if (!fds)
        return -ENOMEM;
    memset(fds + u->fds_cap, 0, (size_t)(cap - u->fds_cap) * sizeof *fds);
    u->fds = fds;
    u->fds_cap = cap;
    return 0;
}

static int arm(struct cio__uring *u, int fd, struct upoll *s)
{
    struct io_uring_sqe *sqe = cio__uring_sqe(u, NULL);
    if (!sqe)
        return -EBUSY;
    unsigned mask = ((s->want & CIO_READABLE) ? POLLIN : 0) |
                    ((s->want & CIO_WRITABLE) ? POLLOUT : 0);
    io_uring_prep_poll_add(sqe, fd, mask);
    sqe->user_data = poll_tag(fd, s->gen);
    s->armed = s->want;
    return 0;
}

static int disarm(struct cio__uring *u, int fd, struct upoll *s)
{
    struct io_uring_sqe *sqe = cio__uring_sqe(u, NULL);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_remove(sqe, poll_tag(fd, s->gen));
    s->gen++; /* whatever the old poll still reports is stale */
    s->armed = 0;
    u->removed = true;
    return 0;
}

static int uring_set(void *state, int fd, int old_events, int new_events)
{
    struct cio__uring *u = state;
    (void)old_events;
    int rc = reserve(u, fd);
    if (rc < 0)
        return rc;
    struct upoll *s = &u->fds[fd];
    s->want = (uint8_t)new_events;
    if (s->armed && s->armed != s->want && (rc = disarm(u, fd, s)) < 0)
        return rc;
    if (s->want && !s->armed)
        return arm(u, fd, s);
    return 0;
}

/* With DEFER_TASKRUN a removed or cancelled request drops its file in task
 * work, which runs only when the ring is entered to get events: a plain
 * submit would leave the file open past close(2). */
int cio__uring_flush(struct cio__uring *u)
{
    int rc = enable(u);
    if (rc < 0)
        return rc;
    if (!io_uring_sq_ready(&u->ring) && !u->removed)
        return 0;
    u->removed = false;
    return io_uring_submit_and_get_events(&u->ring);
}

void cio__uring_unregistered(struct cio__uring *u)
{
    if (u->enabled)
        (void)cio__uring_flush(u);
}

static int rearm_push(struct cio__uring *u, int fd)
{
    if (u->rearm_len == u->rearm_cap) {
        int cap = u->rearm_cap ? u->rearm_cap * 2 : 64;
        int *a = realloc(u->rearm, (size_t)cap * sizeof *a);
        if (!a)
            return -ENOMEM;
        u->rearm = a;
        u->rearm_cap = cap;
    }
    u->rearm[u->rearm_len++] = fd;
    return 0;
}

/* Re-arms the polls that fired last time and are still wanted. */
static void rearm_all(struct cio__uring *u)
{
    for (int i = 0; i < u->rearm_len; i++) {
        struct upoll *s = &u->fds[u->rearm[i]];
        s->rearm = 0;
        if (s->want && !s->armed)
            (void)arm(u, u->rearm[i], s);
    }
    u->rearm_len = 0;
}

/* One poll's report: true if it belongs in fired. */
static bool poll_report(struct cio__uring *u, uint64_t tag, int res)
{
    int fd = (int)((uint32_t)tag >> 1);
    if (fd >= u->fds_cap)
        return false;
    struct upoll *s = &u->fds[fd];
    if (s->gen != (uint32_t)(tag >> 32) || !s->armed)
        return false; /* removed since, or a new poll replaced it */
    s->armed = 0;
    if (!s->rearm && rearm_push(u, fd) == 0)
        s->rearm = 1;
    return res != -ECANCELED;
}

static int wait_events(struct cio__uring *u, int timeout_ms)
{
    struct io_uring_cqe *cqe;
    u->removed = false; /* this call runs the task work */
    if (timeout_ms == 0)
        return io_uring_submit_and_get_events(&u->ring);
    if (timeout_ms < 0)
        return io_uring_submit_and_wait(&u->ring, 1);
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (timeout_ms % 1000) * 1000000L};
    return io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
}

void cio__uring_set_cold(struct cio__uring *u, bool cold)
{
    u->cold = cold;
}

/* Completions warmed ahead of the one acted on: their operations twice
 * as far, then what those touch next (cio__uring_op). */
#define AHEAD 4

/* The operation of the completion at head, or NULL (a poll's, a cancel's). */
static const struct cio__uring_op *cqe_op(const struct cio__uring *u,
                                          unsigned head)
{
    const struct io_uring_cqe *cqe =
        &u->ring.cq
             .cqes[io_uring_cqe_index(&u->ring, head, u->ring.cq.ring_mask)];
    uint64_t tag = cqe->user_data;
    return tag & 1 || tag <= CANCEL_ALL_TAG
               ? NULL
               : (const struct cio__uring_op *)(uintptr_t)tag;
}

static int uring_poll(void *state, int timeout_ms, cio__fired_t *fired, int cap)
{
    struct cio__uring *u = state;
    int rc = enable(u);
    if (rc < 0)
        return rc;
    rearm_all(u);
    if (io_uring_cq_ready(&u->ring))
        timeout_ms = 0; /* left over from a full fired array */
    rc = wait_events(u, timeout_ms);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        return rc;
    int n = 0;
    unsigned head, seen = 0, ready = io_uring_cq_ready(&u->ring);
    struct io_uring_cqe *cqe;
    io_uring_for_each_cqe(&u->ring, head, cqe)
    {
        if (u->cold && seen + 2 * AHEAD < ready)
            __builtin_prefetch(cqe_op(u, head + 2 * AHEAD));
        if (u->cold && seen + AHEAD < ready) {
            const struct cio__uring_op *op = cqe_op(u, head + AHEAD);
            if (op)
                __builtin_prefetch(cio__uring_op_next(op));
        }
        uint64_t tag = cqe->user_data;
        if (tag & 1) {
            if (n == cap)
                break; /* the rest waits for the next poll */
            if (poll_report(u, tag, cqe->res)) {
                /* res is the poll(2) mask, or -errno */
                cio__fired_set(&fired[n++], (int)((uint32_t)tag >> 1),
                               cqe->res < 0 ? POLLERR : (unsigned)cqe->res);
            }
        } else if (tag > CANCEL_ALL_TAG) {
            struct cio__uring_op *op = (void *)(uintptr_t)tag;
            op->done(op, cqe->res, cqe->flags);
        }
        seen++;
    }
    io_uring_cq_advance(&u->ring, seen);
    return n == 0 && rc == -EINTR ? -EINTR : n;
}

const cio__backend_ops_t cio__backend_uring = {
    .name = "uring",
    .init = uring_init,
    .free = uring_free,
    .set = uring_set,
    .poll = uring_poll,
};
#endif

#ifndef CIO_HAVE_URING
/* Built without liburing: asking for "uring" falls back to epoll. */
#include <errno.h>

#include "loop/backend.h"

static int uring_init(void **state)
{
    (void)state;
    return -ENOSYS;
}

const cio__backend_ops_t cio__backend_uring = {
    .name = "uring",
    .init = uring_init,
};
#endif
