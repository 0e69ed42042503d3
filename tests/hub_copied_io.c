/* Tasks on shared stacks (copied), many more than the stacks, doing socket
 * and file IO with buffers and addresses in their frames, which move
 * whenever another task of the same stack runs. On the io_uring backend the
 * kernel must never be left holding a pointer into such a frame: not a
 * send that waits for a full socket, not an accept's or a connect's
 * address, not a file read or write. Every byte must arrive as sent, every
 * address must be right.
 * CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=60 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"
#include "coro/coro_int.h"
#include "hub/wait.h"

enum { PAIRS = 24, BYTES = 192 * 1024, CHUNK = 4096, FILE_TASKS = 16 };

static int lfd;
static uint16_t port;
static char dir[64];

static unsigned char pattern(int pair, size_t i)
{
    return (unsigned char)(i * 31 + (size_t)pair * 7 + (i >> 12));
}

/* Small socket buffers: sends wait for the reader again and again. */
static void small_buffers(int fd)
{
    int n = 4096;
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof n), 0);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof n), 0);
}

static void *sender(void *arg)
{
    int pair = (int)(intptr_t)arg;
#if defined(__x86_64__) && !CIO_ASAN
    CHECK(cio_task_self()->coro->copied); /* else stacks of their own */
#endif
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    small_buffers(fd);
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(cio_sock_connect(fd, (struct sockaddr *)&to, sizeof to,
                              cio_deadline_in(10000)),
             0);
    unsigned char id = (unsigned char)pair;
    CHECK_EQ(cio_fd_write_all(fd, &id, 1, -1), 1);
    unsigned char buf[CHUNK];
    for (size_t off = 0; off < BYTES; off += CHUNK) {
        for (size_t i = 0; i < CHUNK; i++)
            buf[i] = pattern(pair, off + i);
        CHECK_EQ(cio_fd_write_all(fd, buf, CHUNK, cio_deadline_in(20000)),
                 CHUNK);
        memset(buf, 0xee, sizeof buf); /* the kernel is done with it */
    }
    CHECK_EQ(cio_fd_close(fd), 0);
    return NULL;
}

static void *receiver(void *arg)
{
    (void)arg;
    struct sockaddr_in peer;
    memset(&peer, 0, sizeof peer);
    socklen_t len = sizeof peer;
    int fd = cio_sock_accept(lfd, (struct sockaddr *)&peer, &len,
                             cio_deadline_in(10000));
    CHECK(fd >= 0);
    CHECK_EQ(len, (socklen_t)sizeof peer);
    CHECK_EQ(peer.sin_family, AF_INET);
    CHECK_EQ(ntohl(peer.sin_addr.s_addr), INADDR_LOOPBACK);
    unsigned char id;
    CHECK_EQ(cio_fd_read_full(fd, &id, 1, cio_deadline_in(10000)), 1);
    unsigned char buf[1000]; /* not a multiple of the chunks */
    size_t got = 0;
    while (got < BYTES) {
        if (got % (16 * 1024) < sizeof buf)
            CHECK_EQ(cio_task_sleep(1), 0); /* let the senders fill up */
        ssize_t n = cio_fd_read(fd, buf, sizeof buf, cio_deadline_in(20000));
        CHECK(n > 0);
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ(buf[i], pattern(id, got + (size_t)i));
        got += (size_t)n;
    }
    CHECK_EQ(cio_fd_read(fd, buf, 1, cio_deadline_in(10000)), 0);
    CHECK_EQ(cio_fd_close(fd), 0);
    return NULL;
}

/* Writes a block from its frame, reads it back into its frame, while the
 * other file tasks of its stack run. */
static void *file_task(void *arg)
{
    int k = (int)(intptr_t)arg;
    char path[96];
    snprintf(path, sizeof path, "%s/f%d", dir, k);
    int fd = cio_file_open(path, O_RDWR | O_CREAT | O_EXCL, 0600, -1);
    CHECK(fd >= 0);
    unsigned char out[CHUNK], in[CHUNK];
    for (int round = 0; round < 8; round++) {
        for (size_t i = 0; i < CHUNK; i++)
            out[i] = pattern(k + round, i);
        int64_t at = (int64_t)round * CHUNK;
        CHECK_EQ(cio_file_pwrite(fd, out, CHUNK, at, -1), CHUNK);
        memset(out, 0xee, sizeof out);
        memset(in, 0, sizeof in);
        CHECK_EQ(cio_file_pread(fd, in, CHUNK, at, -1), CHUNK);
        for (size_t i = 0; i < CHUNK; i++)
            CHECK_EQ(in[i], pattern(k + round, i));
    }
    CHECK_EQ(cio_fd_close(fd), 0);
    CHECK_EQ(unlink(path), 0);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    lfd = cio_tcp_listen("127.0.0.1", 0, PAIRS, -1);
    CHECK(lfd >= 0);
    small_buffers(lfd);
    port = (uint16_t)cio_sock_port(lfd);
    cio_task_t *t[2 * PAIRS + FILE_TASKS];
    int n = 0;
    for (int i = 0; i < PAIRS; i++) {
        CHECK_EQ(cio_task_spawn(&t[n++], receiver, NULL), 0);
        CHECK_EQ(cio_task_spawn(&t[n++], sender, (void *)(intptr_t)i), 0);
    }
    for (int k = 0; k < FILE_TASKS; k++)
        CHECK_EQ(cio_task_spawn(&t[n++], file_task, (void *)(intptr_t)k), 0);
    CHECK_EQ(cio_task_join_all(t, (size_t)n, cio_deadline_in(50000)), 0);
    for (int i = 0; i < n; i++) {
        CHECK_EQ(cio_task_status(t[i]), 0);
        cio_task_free(t[i]);
    }
    CHECK_EQ(cio_fd_close(lfd), 0);
    return NULL;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/corio-copied-io-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    cio_hub_set_copied_stacks(true);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    CHECK_EQ(rmdir(dir), 0);
    puts("hub_copied_io: ok");
    return 0;
}
