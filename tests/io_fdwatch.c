/* Watches that start a task when an fd becomes readable: an echo server
 * whose connections have no task between messages (the hub's task count
 * says so while 50 clients wait), data already there when a watch is
 * first armed, data that comes while its task runs, an fd a task waited
 * on before, end of file, cancel and fire, and each error the header
 * lists.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum { CLIENTS = 50, ROUNDS = 5 };

static int port;
static int wakes, closed, open_conns;
static cio_watchset_t *set;

/* A server connection: its fd and its watch, no task while it waits. */
struct conn {
    int fd;
    cio_fd_watch_t watch;
};

static void *conn_wake(void *arg);

/* Echoes what is there (the watch said it is readable), then waits
 * without a task; at end of file, closes. */
static void conn_serve(struct conn *c, int64_t deadline)
{
    char buf[64];
    ssize_t n = cio_fd_read(c->fd, buf, sizeof buf, deadline);
    /* A message fits buf: the read came up short, nothing is left. */
    if (n > 0 && cio_fd_write_all(c->fd, buf, (size_t)n, -1) == n &&
        cio_fd_watch_start(&c->watch, set, c->fd, conn_wake, c) == 0)
        return;
    CHECK(n >= 0);
    CHECK_EQ(cio_fd_watch_cancel(&c->watch), c->watch.set ? 0 : -ENOENT);
    cio_fd_close(c->fd);
    free(c);
    closed++;
    open_conns--;
}

static void *conn_wake(void *arg)
{
    wakes++;
    /* Started by readiness: the read finds its bytes at once. */
    conn_serve(arg, cio_deadline_in(1000));
    return NULL;
}

static void on_conn(int fd, const struct sockaddr *peer, socklen_t len,
                    void *data)
{
    (void)peer, (void)len, (void)data;
    struct conn *c = calloc(1, sizeof *c);
    CHECK(c);
    c->fd = fd;
    open_conns++;
    conn_serve(c, -1);
}

static int connected;

static void *client(void *arg)
{
    (void)arg;
    int fd = cio_tcp_dial("127.0.0.1", (uint16_t)port, cio_deadline_in(5000));
    CHECK(fd >= 0);
    char buf[16];
    for (int i = 0; i < ROUNDS; i++) {
        char msg[8] = "ping0";
        msg[4] = (char)('0' + i);
        CHECK_EQ(cio_fd_write_all(fd, msg, 5, -1), 5);
        CHECK_EQ(cio_fd_read_full(fd, buf, 5, cio_deadline_in(5000)), 5);
        CHECK(memcmp(buf, msg, 5) == 0);
        if (i == 0)
            connected++;
        /* Every client waits a while between messages. */
        cio_task_sleep(i == 0 ? 300 : 1);
    }
    cio_fd_close(fd);
    return NULL;
}

/* 50 clients, 5 messages each: between messages no connection has a task. */
static void echo_server(void)
{
    int lfd = cio_tcp_listen("127.0.0.1", 0, 128, -1);
    CHECK(lfd >= 0);
    port = cio_sock_port(lfd);
    cio_server_t *srv;
    CHECK_EQ(cio_server_start(&srv, lfd, on_conn, NULL, 0), 0);
    size_t base = cio_hub_task_count(); /* this task and the acceptor */
    cio_task_t *clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        CHECK_EQ(cio_task_spawn(&clients[i], client, NULL), 0);
    int64_t dl = cio_deadline_in(5000);
    while (connected < CLIENTS && cio_hub_now() < dl)
        cio_task_sleep(5);
    CHECK_EQ(connected, CLIENTS);
    cio_task_sleep(50); /* the clients sleep 300 ms; the server waits */
    CHECK_EQ(open_conns, CLIENTS);
    CHECK_EQ(cio_hub_task_count(), base + CLIENTS); /* none per connection */
    CHECK_EQ(cio_task_join_all(clients, CLIENTS, cio_deadline_in(10000)), 0);
    for (int i = 0; i < CLIENTS; i++)
        cio_task_free(clients[i]);
    dl = cio_deadline_in(5000);
    while (closed < CLIENTS && cio_hub_now() < dl)
        cio_task_sleep(5);
    CHECK_EQ(closed, CLIENTS); /* end of file woke every one */
    CHECK_EQ(wakes, CLIENTS * ROUNDS);
    CHECK_EQ(cio_server_stop(srv, cio_deadline_in(1000)), 0);
    cio_server_free(srv);
}

static int fired;
static void *count_fire(void *arg)
{
    fired++;
    *(int *)arg = 1;
    return NULL;
}

static void *wait_readable(void *arg)
{
    cio_fd_wait_readable(*(int *)arg, cio_deadline_in(200));
    return NULL;
}

static void wait_fired(int want)
{
    int64_t dl = cio_deadline_in(2000);
    while (fired < want && cio_hub_now() < dl)
        cio_task_sleep(1);
    CHECK_EQ(fired, want);
}

/* Arms w on fd with nothing to read: it waits; a byte fires it, the
 * want-th fire. */
static void fires_on_byte(cio_fd_watch_t *w, int fd, int peer, int *hit,
                          int want)
{
    CHECK_EQ(cio_fd_watch_start(w, set, fd, count_fire, hit), 0);
    cio_task_sleep(20);
    CHECK_EQ(fired, want - 1);
    CHECK_EQ(write(peer, "w", 1), 1);
    wait_fired(want);
}

/* Arming with data there, data while its task runs, after a task's wait,
 * cancel, fire, errors. */
static void edges(void)
{
    int sv[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cio_fd_watch_t w = {0}, w2 = {0};
    int hit = 0;
    char c;

    CHECK_EQ(cio_watchset_new(NULL), -EINVAL);
    CHECK_EQ(cio_fd_watch_start(NULL, set, sv[0], count_fire, &hit), -EINVAL);
    CHECK_EQ(cio_fd_watch_start(&w, NULL, sv[0], count_fire, &hit), -EINVAL);
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], NULL, &hit), -EINVAL);
    CHECK_EQ(cio_fd_watch_start(&w, set, -1, count_fire, &hit), -EINVAL);
    CHECK_EQ(cio_fd_watch_cancel(NULL), -EINVAL);
    CHECK_EQ(cio_fd_watch_fire(NULL), -EINVAL);
    CHECK_EQ(cio_fd_watch_cancel(&w), -ENOENT);
    CHECK_EQ(cio_fd_watch_fire(&w), -ENOENT);

    /* A regular file: epoll cannot watch it. */
    FILE *tmp = tmpfile();
    CHECK(tmp);
    CHECK_EQ(cio_fd_watch_start(&w, set, fileno(tmp), count_fire, &hit),
             -EPERM);
    fclose(tmp);

    /* A task waits on the fd: refused. */
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, wait_readable, &sv[0]), 0);
    cio_task_sleep(0);
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), -EBUSY);
    CHECK_EQ(cio_task_join(t, -1), 0); /* its wait ended without an event */
    cio_task_free(t);

    /* Nothing to read: it does not fire, and cancel disarms it; a second
     * watch of the set on the same fd is refused. */
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), 0);
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), -EALREADY);
    CHECK_EQ(cio_fd_watch_start(&w2, set, sv[0], count_fire, &hit), -EEXIST);
    cio_task_sleep(30);
    CHECK_EQ(fired, 0);
    CHECK_EQ(cio_fd_watch_cancel(&w), 1);
    CHECK_EQ(cio_fd_watch_cancel(&w), -ENOENT);
    CHECK_EQ(write(sv[1], "x", 1), 1);
    cio_task_sleep(30);
    CHECK_EQ(fired, 0); /* cancelled: no task, though readable */
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);

    /* Data already there when first armed: fires at once. */
    CHECK_EQ(write(sv[1], "y", 1), 1);
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), 0);
    wait_fired(1);
    CHECK_EQ(hit, 1);
    CHECK_EQ(cio_fd_watch_fire(&w), -ENOENT); /* fired: not armed */
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);

    /* Armed again with nothing new: waits; a byte fires it. */
    fires_on_byte(&w, sv[0], sv[1], &hit, 2);

    /* A byte that comes after it fired, while "its task runs": armed
     * again, it fires at once. */
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);
    CHECK_EQ(write(sv[1], "v", 1), 1);
    cio_task_sleep(20);
    CHECK_EQ(fired, 2);
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), 0);
    wait_fired(3);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);
    CHECK_EQ(c, 'v');

    /* A task waits for the fd while data comes, then the watch: the hub's
     * registration is dropped and the watch fires on the next byte. */
    CHECK_EQ(cio_fd_watch_cancel(&w), 0); /* it had fired */
    CHECK_EQ(cio_task_spawn(&t, wait_readable, &sv[0]), 0);
    cio_task_sleep(0);
    CHECK_EQ(write(sv[1], "z", 1), 1);
    CHECK_EQ(cio_task_join(t, -1), 0);
    cio_task_free(t);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);
    fires_on_byte(&w, sv[0], sv[1], &hit, 4);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 1);

    /* Fire without data: the task starts all the same. */
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), 0);
    CHECK_EQ(cio_fd_watch_fire(&w), 0);
    CHECK_EQ(cio_fd_watch_fire(&w), -ENOENT);
    wait_fired(5);

    /* End of file fires too. */
    CHECK_EQ(cio_fd_watch_start(&w, set, sv[0], count_fire, &hit), 0);
    cio_task_sleep(20);
    CHECK_EQ(fired, 5);
    shutdown(sv[1], SHUT_WR);
    wait_fired(6);
    CHECK_EQ(cio_fd_read(sv[0], &c, 1, cio_deadline_in(1000)), 0);
    CHECK_EQ(cio_fd_watch_cancel(&w), 0);
    cio_fd_close(sv[0]);
    cio_fd_close(sv[1]);
}

static void *main_task(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_watchset_new(&set), 0);
    echo_server();
    edges();
    cio_watchset_free(set);
    return NULL;
}

int main(void)
{
    cio_fd_watch_t w = {0};
    cio_watchset_t *none;
    CHECK_EQ(cio_watchset_new(&none), -EPERM);
    CHECK_EQ(cio_fd_watch_start(&w, (cio_watchset_t *)&w, 0, count_fire, NULL),
             -EPERM);
    /* Connection tasks on shared stacks, as a server of idle sessions. */
    cio_hub_set_conn_copied_stacks(true);
    CHECK_EQ(cio_hub_run(NULL, main_task, NULL), 0);
    return 0;
}
