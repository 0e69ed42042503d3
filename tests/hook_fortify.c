/* Programs built with _FORTIFY_SOURCE call __read_chk, __recv_chk,
 * __recvfrom_chk and __poll_chk instead of the plain functions when the
 * buffer size is known: those are hooked too. Each call below waits for a
 * peer task; were it not hooked it would block the only thread for good
 * (the alarm ends the test). */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

static void *write_later(void *arg)
{
    usleep(10000);
    CHECK_EQ(write(*(int *)arg, "chk", 3), 3);
    return NULL;
}

static void *main_task(void *arg)
{
    int sv[2];
    char buf[8];
    struct pollfd p[1];
    /* Lengths the compiler cannot see: it must call the checked forms. */
    volatile size_t len_v = sizeof(buf);
    volatile nfds_t nfds_v = 1;
    size_t len = len_v;
    nfds_t nfds = nfds_v;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);

    CHECK(cio_task_spawn(NULL, write_later, &sv[1]) == 0);
    CHECK_EQ(read(sv[0], buf, len), 3);

    CHECK(cio_task_spawn(NULL, write_later, &sv[1]) == 0);
    CHECK_EQ(recv(sv[0], buf, len, 0), 3);

    CHECK(cio_task_spawn(NULL, write_later, &sv[1]) == 0);
    CHECK_EQ(recvfrom(sv[0], buf, len, 0, NULL, NULL), 3);

    CHECK(cio_task_spawn(NULL, write_later, &sv[1]) == 0);
    p[0] = (struct pollfd){.fd = sv[0], .events = POLLIN};
    CHECK_EQ(poll(p, nfds, 5000), 1);
    CHECK_EQ(read(sv[0], buf, len), 3);
    CHECK(memcmp(buf, "chk", 3) == 0);
    close(sv[0]);
    close(sv[1]);
    return NULL;
}

int main(void)
{
    alarm(20);
    CHECK(cio_hub_run(NULL, main_task, NULL) == 0);
    return 0;
}
