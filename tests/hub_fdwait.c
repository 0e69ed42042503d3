/* Several tasks waiting on one fd: the first takes the fd's slot, the others
 * queue behind it. Each is woken when the fd is ready, and a waiter that
 * leaves early (deadline, kill) frees its place for the others; cio_fd_close
 * wakes every one with -EBADF; writers wait and finish the same way.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum { READERS = 3 };

static int sp[2]; /* socket pair: tasks read sp[0], main writes sp[1] */

/* Reads one byte, waiting as long as arg (ms, -1 forever) says. */
static void *read_one(void *arg)
{
    int64_t wait_ms = (int64_t)(intptr_t)arg;
    char c;
    ssize_t n = cio_fd_read(sp[0], &c, 1, cio_deadline_in(wait_ms));
    return (void *)(intptr_t)(n == 1 ? c : n);
}

static cio_task_t *spawn_reader(int64_t wait_ms)
{
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, read_one, (void *)(intptr_t)wait_ms), 0);
    return t;
}

static intptr_t join_result(cio_task_t *t)
{
    CHECK_EQ(cio_task_join(t, cio_deadline_in(5000)), 0);
    intptr_t r = (intptr_t)cio_task_result(t);
    cio_task_free(t);
    return r;
}

/* Three readers, one byte at a time: each byte wakes them all, one gets it
 * and the others wait again, until each has one. */
static void readers_share(void)
{
    cio_task_t *t[READERS];
    for (int i = 0; i < READERS; i++)
        t[i] = spawn_reader(-1);
    CHECK_EQ(cio_task_sleep(20), 0); /* all three wait now */
    for (int i = 0; i < READERS; i++) {
        CHECK_EQ(cio_fd_write(sp[1], &"abc"[i], 1, -1), 1);
        CHECK_EQ(cio_task_sleep(5), 0);
    }
    int seen = 0;
    for (int i = 0; i < READERS; i++) {
        intptr_t c = join_result(t[i]);
        CHECK(c >= 'a' && c <= 'c');
        seen |= 1 << (c - 'a');
    }
    CHECK_EQ(seen, 7);
}

/* Sleeps 100 ms; returns how long it slept. */
static void *sleeper(void *arg)
{
    (void)arg;
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_task_sleep(100), 0);
    return (void *)(intptr_t)(cio_hub_now() - t0);
}

/* The first reader, in the slot, times out; one queued behind it is killed;
 * the third still gets the byte. Neither leaver stays behind: a task that
 * reuses the first one's memory is not woken by the fd, and a reader that
 * comes after them all finds the slot free. */
static void early_leavers(void)
{
    cio_task_t *first = spawn_reader(30);
    CHECK_EQ(cio_task_sleep(5), 0);
    cio_task_t *killed = spawn_reader(-1);
    cio_task_t *last = spawn_reader(-1);
    CHECK_EQ(cio_task_sleep(5), 0);
    CHECK_EQ(cio_task_kill(killed), 0);
    CHECK_EQ(join_result(killed), -ECANCELED);
    CHECK_EQ(join_result(first), -ETIMEDOUT);
    cio_task_t *s;
    CHECK_EQ(cio_task_spawn(&s, sleeper, NULL), 0); /* likely first's memory */
    CHECK_EQ(cio_task_sleep(5), 0);
    CHECK_EQ(cio_fd_write(sp[1], "x", 1, -1), 1);
    CHECK_EQ(join_result(last), 'x');
    CHECK(join_result(s) >= 100);

    cio_task_t *later = spawn_reader(-1);
    CHECK_EQ(cio_task_sleep(5), 0);
    CHECK_EQ(cio_fd_write(sp[1], "y", 1, -1), 1);
    CHECK_EQ(join_result(later), 'y');
}

/* Writes arg bytes to sp[0], waiting while its buffer is full. */
static void *write_n(void *arg)
{
    static char chunk[1 << 16];
    size_t left = (size_t)(uintptr_t)arg;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        ssize_t r = cio_fd_write_all(sp[0], chunk, n, -1);
        if (r < 0)
            return (void *)(intptr_t)r;
        left -= n;
    }
    return (void *)(uintptr_t)arg;
}

/* Two writers wait on a full socket; reading the other end lets both
 * finish. */
static void writers_share(void)
{
    static char buf[1 << 16]; /* more than a task's stack should hold */
    size_t filled = 0;
    ssize_t n;
    while ((n = cio_fd_write(sp[0], buf, sizeof buf, 0)) > 0)
        filled += (size_t)n;
    CHECK_EQ(n, -ETIMEDOUT);
    cio_task_t *a, *b;
    size_t each = 200000;
    CHECK_EQ(cio_task_spawn(&a, write_n, (void *)(uintptr_t)each), 0);
    CHECK_EQ(cio_task_spawn(&b, write_n, (void *)(uintptr_t)each), 0);
    size_t got = 0, want = filled + 2 * each;
    while (got < want) {
        n = cio_fd_read(sp[1], buf, sizeof buf, cio_deadline_in(5000));
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK_EQ(got, want);
    CHECK_EQ(join_result(a), (intptr_t)each);
    CHECK_EQ(join_result(b), (intptr_t)each);
}

/* cio_fd_close wakes the reader in the slot and those queued behind it. */
static void close_wakes_all(void)
{
    cio_task_t *t[READERS];
    for (int i = 0; i < READERS; i++)
        t[i] = spawn_reader(-1);
    CHECK_EQ(cio_task_sleep(10), 0);
    CHECK_EQ(cio_fd_close(sp[0]), 0);
    for (int i = 0; i < READERS; i++)
        CHECK_EQ(join_result(t[i]), -EBADF);
}

static void *main_task(void *arg)
{
    (void)arg;
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp), 0);
    readers_share();
    early_leavers();
    writers_share();
    close_wakes_all();
    CHECK_EQ(cio_fd_close(sp[1]), 0);
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
