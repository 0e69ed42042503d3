/* An fd number closed with plain close() (not cio_fd_close) and handed out
 * again by the kernel is a new file: a cio_fd_read on it must see the data
 * that arrives, whatever the hub cached about the old one (its readiness
 * interest, O_NONBLOCK, socket or not). Each case leaves state on the old
 * file (a wait that timed out, or one that was woken), closes it behind
 * the hub's back and reuses the number for a pipe or a socket pair, whose
 * other end a second task writes to a little later.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

/* Makes a pipe or a socket pair: p[0] to read, p[1] to write. */
static void make_pair(int p[2], int sock)
{
    if (sock)
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
    else
        CHECK_EQ(pipe(p), 0);
}

/* Moves fd to number want (closing what was there with plain close). */
static int move_to(int fd, int want)
{
    if (fd == want)
        return fd;
    CHECK_EQ(dup2(fd, want), want);
    close(fd);
    return want;
}

static void *write_late(void *arg)
{
    int fd = (int)(intptr_t)arg;
    CHECK_EQ(cio_task_sleep(50), 0);
    CHECK_EQ(write(fd, "x", 1), 1);
    return NULL;
}

/* One case: the old file is a pipe or socket pair (old_sock); its reader
 * either times out (woken = 0) or gets a byte after waiting (woken = 1);
 * then the reader's number goes, by plain close, to a new pipe or socket
 * pair (new_sock) which must deliver its byte well before the deadline. */
static void reuse_case(int old_sock, int woken, int new_sock)
{
    int p[2];
    make_pair(p, old_sock);
    int num = p[0];
    char c;
    if (woken) {
        cio_task_t *w;
        CHECK_EQ(cio_task_spawn(&w, write_late, (void *)(intptr_t)p[1]), 0);
        CHECK_EQ(cio_fd_read(num, &c, 1, cio_deadline_in(5000)), 1);
        CHECK_EQ(cio_task_join(w, -1), 0);
        cio_task_free(w);
    } else {
        CHECK_EQ(cio_fd_read(num, &c, 1, cio_deadline_in(20)), -ETIMEDOUT);
    }
    close(p[0]); /* behind the hub's back */
    close(p[1]);

    int q[2];
    make_pair(q, new_sock);
    int rd = move_to(q[0], num), wr = q[1];
    CHECK(rd == num && wr != num);
    CHECK_EQ(fcntl(rd, F_GETFL) & O_NONBLOCK, 0); /* a fresh, blocking fd */

    cio_task_t *w;
    CHECK_EQ(cio_task_spawn(&w, write_late, (void *)(intptr_t)wr), 0);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_fd_read(rd, &c, 1, cio_deadline_in(3000)), 1);
    CHECK_EQ(c, 'x');
    CHECK(cio_hub_now() - start < 2000);
    CHECK_EQ(cio_task_join(w, -1), 0);
    cio_task_free(w);
    CHECK_EQ(cio_fd_close(rd), 0);
    close(wr);
}

/* A regular file never waits, even when its number was a pipe before. */
static void reuse_as_file(void)
{
    int p[2];
    make_pair(p, 0);
    char c;
    CHECK_EQ(cio_fd_read(p[0], &c, 1, cio_deadline_in(20)), -ETIMEDOUT);
    close(p[0]);
    close(p[1]);
    char path[] = "/tmp/hub_fdreuse.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK_EQ(write(fd, "y", 1), 1);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    fd = move_to(fd, p[0]);
    CHECK_EQ(cio_fd_wait_readable(fd, cio_deadline_in(2000)), 0);
    CHECK_EQ(cio_fd_read(fd, &c, 1, cio_deadline_in(2000)), 1);
    CHECK_EQ(c, 'y');
    CHECK_EQ(cio_fd_close(fd), 0);
}

static void *main_task(void *arg)
{
    (void)arg;
    for (int old_sock = 0; old_sock < 2; old_sock++)
        for (int woken = 0; woken < 2; woken++)
            for (int new_sock = 0; new_sock < 2; new_sock++)
                reuse_case(old_sock, woken, new_sock);
    reuse_as_file();
    return NULL;
}

int main(void)
{
    /* A read that blocks the whole thread would never let the writer run:
     * end the test then instead of hanging until the runner's timeout. */
    alarm(20);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    puts("ok");
    return 0;
}
