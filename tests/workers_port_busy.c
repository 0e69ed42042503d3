/* A group of several workers listens on a port that another socket holds:
 * cio_workers_listen fails with -EADDRINUSE, as one listening socket would,
 * whether the holder is a plain listener, a listener with SO_REUSEPORT
 * (another process's group) or another group. A free port still gives one
 * SO_REUSEPORT socket per worker. */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

/* A socket listening on 127.0.0.1 (port 0: any), with or without
 * SO_REUSEPORT; its port in *port. */
static int holder(int reuseport, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    int one = 1;
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    if (reuseport)
        CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    CHECK_EQ(listen(fd, 16), 0);
    socklen_t len = sizeof sa;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static cio_workers_t *group(unsigned threads, bool shared)
{
    cio_workers_opts_t o = {.threads = threads, .shared_listener = shared};
    cio_workers_t *g;
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    return g;
}

/* A group of `threads` workers on a port the holder has. */
static void refused(unsigned threads, bool shared, int reuseport)
{
    uint16_t port;
    int fd = holder(reuseport, &port);
    cio_workers_t *g = group(threads, shared);
    CHECK_EQ(cio_workers_listen(g, "127.0.0.1", port, 0), -EADDRINUSE);
    cio_workers_free(g);
    close(fd);
}

int main(void)
{
    for (int reuseport = 0; reuseport < 2; reuseport++) {
        refused(1, false, reuseport);
        refused(4, false, reuseport);
        refused(4, true, reuseport);
    }

    /* Two groups: the second one is refused; the first has a socket per
     * worker, unless the kernel lacks SO_REUSEPORT. */
    cio_workers_t *a = group(4, false), *b = group(4, false);
    int port = cio_workers_listen(a, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    CHECK_EQ(cio_workers_listen(b, "127.0.0.1", (uint16_t)port, 0),
             -EADDRINUSE);
    if (!cio_workers_reuseport(a))
        printf("note: no SO_REUSEPORT here, one shared socket\n");
    cio_workers_free(b);

    /* Once the first group is gone the port is free again. */
    cio_workers_free(a);
    b = group(4, false);
    CHECK_EQ(cio_workers_listen(b, "127.0.0.1", (uint16_t)port, 0), port);
    cio_workers_free(b);
    puts("ok");
    return 0;
}
