/* cio_hub_set_copied_stacks: tasks share stacks and keep only their live
 * frames while they wait. Up to SSTACKS live tasks get one each, and one
 * freed goes to the next new task. Many more tasks than shared stacks keep
 * their locals across waits, hand over to each other (also between two of
 * one stack), run offloaded calls that use their stack from a pool thread
 * while others run, and cost under 1 KiB each while they wait (with gcc;
 * bounds against a parked task's cost with any compiler, footprint.h).
 * CIO_TEST_ALL_BACKENDS */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "coro/coro_int.h"
#include "footprint.h"
#include "hub/hub_internal.h"

enum { TASKS = SSTACKS * 2 + 44, ROUNDS = 50, OFFLOADERS = 4 };

static cio_queue_t *ring[TASKS];
static int done_count;

/* A chain of tasks passing a token: each wait copies the frames out, and
 * neighbours often share a stack, so hand-overs go through the copier. */
static void *relay(void *arg)
{
    long me = *(long *)arg; /* its place in the ring, set before it runs */
    char mine[200];         /* a local pattern that must survive every wait */
    for (size_t i = 0; i < sizeof mine; i++)
        mine[i] = (char)(me * 7 + (long)i);
    for (int r = 0; r < ROUNDS; r++) {
        void *token;
        CHECK_EQ(cio_queue_get(ring[me], &token, -1), 0);
        CHECK_EQ((long)token, (long)r * TASKS + me);
        for (size_t i = 0; i < sizeof mine; i++)
            CHECK_EQ(mine[i], (char)(me * 7 + (long)i));
        long next = (me + 1) % TASKS;
        void *pass = (void *)((long)token + 1);
        if (next == 0)
            pass = (void *)((long)(r + 1) * TASKS);
        if (r < ROUNDS - 1 || next != 0)
            CHECK_EQ(cio_queue_put(ring[next], pass, -1), 0);
    }
    done_count++;
    return NULL;
}

/* The pool thread writes into the task's stack while other tasks of the
 * same shared stack want to run. */
static long fill(void *arg)
{
    usleep(20000);
    memset(arg, 0x5a, 512);
    return 512;
}

static void *offloader(void *arg)
{
    (void)arg;
    unsigned char buf[512];
    memset(buf, 0, sizeof buf);
    long got = 0;
    CHECK_EQ(cio_offload_run(&got, CIO_OFFLOAD_FILE, fill, buf, -1), 0);
    CHECK_EQ(got, 512);
    for (size_t i = 0; i < sizeof buf; i++)
        CHECK_EQ(buf[i], 0x5a);
    return NULL;
}

static void *sleeper(void *arg)
{
    volatile long keep = (long)arg;
    cio_task_sleep(1);
    CHECK_EQ(keep, (long)arg);
    return NULL;
}

static int sv[2];

static void *reader(void *arg)
{
    (void)arg;
    char c;
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, -1), 1);
    return NULL;
}

/* A connection's task as echo_server's: it reads its own socket, with no
 * deadline, so that it waits the common way. */
static int pairs[16][2];

static void *own_reader(void *arg)
{
    char c;
    CHECK_EQ(cio_fd_read(pairs[(long)arg][0], &c, 1, -1), 1);
    return NULL;
}

/* 16 own_readers, each on a socketpair of its own, waiting on return. */
static void readers_start(cio_task_t *r[16])
{
    for (long i = 0; i < 16; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), 0);
        CHECK_EQ(cio_task_spawn(&r[i], own_reader, (void *)i), 0);
    }
    cio_task_sleep(5);
}

/* Gives readers_start's readers their byte, joins and frees them. */
static void readers_finish(cio_task_t *r[16])
{
    for (int i = 0; i < 16; i++)
        CHECK_EQ(write(pairs[i][1], "x", 1), 1);
    CHECK_EQ(cio_task_join_all(r, 16, -1), 0);
    for (int i = 0; i < 16; i++) {
        cio_task_free(r[i]);
        cio_fd_close(pairs[i][0]);
        close(pairs[i][1]);
    }
}

/* Echoers as echo_server's connection tasks, more than stacks: each wake
 * of one that shares moves another one's frames out and its own in. Their
 * frames are 128 to 255 bytes on x86-64 with a readiness backend (optimized,
 * gcc and clang), which a CPU with AVX copies inline (copied.c); a byte of the
 * wrong place or a local that changes while it waits fails. */
enum { ECHOERS = SSTACKS + 40, ECHO_ROUNDS = 50 };
static int echo_pairs[ECHOERS][2];

static void *echoer(void *arg)
{
    volatile long keep = (long)arg * 2654435761L;
    int fd = echo_pairs[(long)arg][0];
    for (int r = 0; r < ECHO_ROUNDS; r++) {
        unsigned char c;
        CHECK_EQ(cio_fd_read(fd, &c, 1, -1), 1);
        CHECK_EQ(c, (unsigned char)(r + (long)arg));
        CHECK_EQ(keep, (long)arg * 2654435761L);
        CHECK_EQ(cio_fd_write(fd, &c, 1, -1), 1);
    }
    return NULL;
}

/* Rounds of one byte to each echoer and back. Once its reply is read, an
 * echoer waits in its next read (it ran until then): the frames of those
 * whose frames are out are counted if their length is copied inline. */
static void echo_rounds(void)
{
    cio_task_t *e[ECHOERS];
    for (long i = 0; i < ECHOERS; i++) {
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, echo_pairs[i]), 0);
        CHECK_EQ(cio_task_spawn(&e[i], echoer, (void *)i), 0);
    }
    long inline_len = 0;
    for (int r = 0; r < ECHO_ROUNDS; r++) {
        for (long i = 0; i < ECHOERS; i++) {
            unsigned char c = (unsigned char)(r + i);
            CHECK_EQ(cio_fd_write(echo_pairs[i][1], &c, 1, -1), 1);
        }
        for (long i = 0; i < ECHOERS; i++) {
            unsigned char c;
            CHECK_EQ(cio_fd_read(echo_pairs[i][1], &c, 1, -1), 1);
            CHECK_EQ(c, (unsigned char)(r + i));
        }
        for (long i = 0; i < ECHOERS; i++) {
            cio_coro_t *co = e[i]->coro;
            if (co->copied && co->saved && co->saved_len >= 128 &&
                co->saved_len < 256)
                inline_len++;
        }
    }
/* Copied stacks; the frames are larger under TSan and unoptimized. */
#if FRESH_START && !CIO_TSAN && defined(__OPTIMIZE__)
    if (!cio__tls_hub->io.uring && __builtin_cpu_supports("avx"))
        CHECK(inline_len > 0);
#endif
    CHECK_EQ(cio_task_join_all(e, ECHOERS, -1), 0);
    for (long i = 0; i < ECHOERS; i++) {
        cio_task_free(e[i]);
        cio_fd_close(echo_pairs[i][1]);
        close(echo_pairs[i][0]);
    }
}

/* Fewer live tasks than SSTACKS: each gets a stack no other task uses and
 * waits with its frames in place (nothing to copy when it wakes), and the
 * stacks of those that end go to the next ones, none new. */
static void alone(void)
{
#if FRESH_START && !CIO_TSAN
    cio_task_t *r[16];
    unsigned made = 0;
    for (int round = 0; round < 2; round++) {
        readers_start(r);
        for (int i = 0; i < 16; i++) {
            cio_coro_t *co = r[i]->coro;
            CHECK(co->copied && co->saved == NULL);
            CHECK(!cio_coro_current()->copied ||
                  co->shared != cio_coro_current()->shared);
            for (int j = 0; j < i; j++)
                CHECK(co->shared != r[j]->coro->shared);
        }
        if (round == 0)
            made = cio__tls_thread.nsstacks;
        CHECK_EQ(cio__tls_thread.nsstacks, made);
        readers_finish(r);
    }
#endif
}

/* The stack t runs on: shared (copied) or its own. */
static const void *stack_of(cio_task_t *t)
{
    return t->coro->copied ? (const void *)t->coro->shared
                           : (const void *)t->coro;
}

static void *main_task(void *arg)
{
    (void)arg;
    alone();
    cio_task_t *tasks[TASKS];
    static long place[TASKS];
    for (long i = 0; i < TASKS; i++)
        CHECK_EQ(cio_queue_new(&ring[i], 1), 0);
    for (long k = 0; k < TASKS; k++)
        CHECK_EQ(cio_task_spawn(&tasks[k], relay, &place[k]), 0);
    /* Places in the ring by stack, so that a relay and the next one often
     * share a stack: hand-overs between them go through the copier. */
    static bool placed[TASKS];
    long next = 0, shared = 0;
    for (long k = 0; k < TASKS; k++) {
        if (placed[k])
            continue;
        for (long j = k; j < TASKS; j++) {
            if (placed[j] || stack_of(tasks[j]) != stack_of(tasks[k]))
                continue;
            placed[j] = true;
            place[j] = next++;
            shared += j != k;
        }
    }
    CHECK_EQ(next, TASKS);
#if FRESH_START
    CHECK(shared > 0);
#endif
    CHECK_EQ(cio_queue_put(ring[0], (void *)0, -1), 0);
    cio_task_t *off[OFFLOADERS], *sl[TASKS];
    for (int i = 0; i < OFFLOADERS; i++)
        CHECK_EQ(cio_task_spawn(&off[i], offloader, NULL), 0);
    for (long i = 0; i < TASKS; i++)
        CHECK_EQ(cio_task_spawn(&sl[i], sleeper, (void *)i), 0);
    CHECK_EQ(cio_task_join_all(tasks, TASKS, -1), 0);
    CHECK_EQ(cio_task_join_all(off, OFFLOADERS, -1), 0);
    CHECK_EQ(cio_task_join_all(sl, TASKS, -1), 0);
    CHECK_EQ(done_count, TASKS);
    for (long i = 0; i < TASKS; i++) {
        cio_queue_free(ring[i]);
        cio_task_free(tasks[i]);
        cio_task_free(sl[i]);
    }
    for (int i = 0; i < OFFLOADERS; i++)
        cio_task_free(off[i]);

    /* A waiting reader costs its task, its coroutine and its frames. */
    size_t base = footprint_baseline();
    printf("a task parked in a sleep: %zu bytes\n", base);
#if FOOTPRINT_EXACT
    /* Its task and coroutine (368 bytes) and the frames of the sleep and
     * its callers: 592 bytes; more if waits kept frames of their own. */
    CHECK(base < 640);
#endif
    cio_task_t *r[16];
    for (int i = 0; i < 16; i++)
        CHECK_EQ(cio_task_spawn(&r[i], reader, NULL), 0);
    cio_task_sleep(5);
    for (int i = 0; i < 16; i++) {
        size_t fp = footprint_of(r[i]);
        if (i == 0)
            printf("a task waiting in a read of a shared fd: %zu bytes\n", fp);
#if defined(__x86_64__) && !CIO_ASAN
        CHECK(r[i]->coro->copied);
#endif
        CHECK(fp > 128 && fp < FOOTPRINT_IO_MAX(base));
#if FOOTPRINT_EXACT
        CHECK(fp < 1024);
#endif
    }
    CHECK_EQ(write(sv[1], "0123456789abcdef", 16), 16);
    CHECK_EQ(cio_task_join_all(r, 16, -1), 0);
    for (int i = 0; i < 16; i++)
        cio_task_free(r[i]);

    /* Waiting the common way, a task keeps only the frame of the read
     * that waits and those of its callers, in a buffer of their size,
     * and its coroutine and task (368 bytes): 560 bytes in all here on
     * x86-64 with gcc, 704 when the wait kept frames of its own; within
     * 64 bytes of the parked task with any compiler (footprint.h). On the
     * ring a read waits in its operation's frames. */
    bool on_ring = cio__tls_hub->io.uring != NULL;
    readers_start(r);
    for (int i = 0; i < 16; i++) {
        size_t fp = footprint_of(r[i]);
        if (i == 0)
            printf("a task waiting in a read: %zu bytes\n", fp);
        CHECK(fp > 128 && fp < (on_ring ? FOOTPRINT_IO_MAX(base)
                                        : FOOTPRINT_READ_MAX(base)));
#if FOOTPRINT_EXACT
        CHECK(fp < (on_ring ? 1024u : 704u));
#endif
    }
    readers_finish(r);
    echo_rounds();
    return NULL;
}

int main(void)
{
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cio_hub_set_copied_stacks(true);
    void *result = (void *)1;
    CHECK_EQ(cio_hub_run(&result, main_task, NULL), 0);
    CHECK(result == NULL);
    printf("hub_copied: ok\n");
    return 0;
}
