/* The stream server: a task per connection, max_conns bounding handlers,
 * a graceful stop that waits for handlers, and a stop whose deadline
 * passes, killing the handlers left.
 * CIO_TEST_ALL_BACKENDS */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "corio.h"

static int running, most_running, served;
static int port;

static void upper_echo(int fd, const struct sockaddr *peer, socklen_t peer_len,
                       void *data)
{
    (void)data;
    /* the handler gets the client's address */
    CHECK_EQ(peer_len, (socklen_t)sizeof(struct sockaddr_in));
    CHECK_EQ(peer->sa_family, AF_INET);
    const struct sockaddr_in *in = (const struct sockaddr_in *)peer;
    CHECK_EQ(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
    CHECK(ntohs(in->sin_port) != 0 && ntohs(in->sin_port) != port);
    running++;
    if (running > most_running)
        most_running = running;
    char buf[256];
    ssize_t n;
    while ((n = cio_fd_read(fd, buf, sizeof buf, -1)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] = (char)(buf[i] - 32);
        if (cio_fd_write_all(fd, buf, (size_t)n, -1) < 0)
            break;
    }
    served++;
    running--;
    cio_fd_close(fd);
}

static void *client(void *arg)
{
    int rounds = (int)(intptr_t)arg;
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    char buf[16];
    for (int i = 0; i < rounds; i++) {
        CHECK_EQ(cio_fd_write_all(fd, "ping", 4, -1), 4);
        CHECK_EQ(cio_fd_read_full(fd, buf, 4, cio_deadline_in(5000)), 4);
        CHECK(memcmp(buf, "PING", 4) == 0);
        cio_task_sleep(1);
    }
    cio_fd_close(fd);
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    cio_server_t *srv;
    /* bounded: 20 clients, at most 4 handlers at once */
    int lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(lfd >= 0);
    port = cio_sock_port(lfd);
    CHECK_EQ(cio_server_start(&srv, lfd, upper_echo, NULL, 4), 0);
    CHECK(cio_server_data(srv) == NULL);
    cio_server_set_data(srv, &port);
    CHECK(cio_server_data(srv) == &port);
    cio_task_t *c[20];
    for (int i = 0; i < 20; i++)
        CHECK_EQ(cio_task_spawn(&c[i], client, (void *)3), 0);
    CHECK_EQ(cio_task_join_all(c, 20, cio_deadline_in(20000)), 0);
    for (int i = 0; i < 20; i++)
        cio_task_free(c[i]);
    CHECK_EQ(most_running, 4);
    /* graceful stop: nothing running, returns at once */
    CHECK_EQ(cio_server_stop(srv, cio_deadline_in(5000)), 0);
    cio_server_free(srv);
    CHECK_EQ(served, 20);
    CHECK_EQ(cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(5000)),
             -ECONNREFUSED);

    /* stop with idle connections open: the deadline passes, they are
     * killed, their reads return -ECANCELED and they close */
    lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    port = cio_sock_port(lfd);
    CHECK_EQ(cio_server_start(&srv, lfd, upper_echo, NULL, 0), 0);
    int fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i] = cio_tcp_dial("127.0.0.1", (uint16_t)port, -1);
        CHECK(fds[i] >= 0);
    }
    cio_task_sleep(20);
    CHECK_EQ(running, 5);
    int64_t start = cio_hub_now();
    CHECK_EQ(cio_server_stop(srv, cio_deadline_in(30)), 0);
    CHECK(cio_hub_now() - start >= 29);
    CHECK_EQ(running, 0);
    char b;
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(cio_fd_read(fds[i], &b, 1, cio_deadline_in(5000)), 0);
        cio_fd_close(fds[i]);
    }
    cio_server_free(srv);

    /* free without stop: closes and kills, frees when the last ends */
    lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    port = cio_sock_port(lfd);
    CHECK_EQ(cio_server_start(&srv, lfd, upper_echo, NULL, 0), 0);
    fds[0] = cio_tcp_dial("127.0.0.1", (uint16_t)port, -1);
    cio_task_sleep(10);
    cio_server_free(srv);
    CHECK_EQ(cio_fd_read(fds[0], &b, 1, cio_deadline_in(5000)), 0);
    cio_fd_close(fds[0]);
    CHECK_EQ(cio_server_start(&srv, -1, upper_echo, NULL, 0), -EINVAL);
    return NULL;
}

int main(void)
{
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
