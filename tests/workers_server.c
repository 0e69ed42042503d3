/* A server with N workers under concurrent clients, every reply verified:
 * once with a SO_REUSEPORT socket per worker, once with one shared socket.
 * CIO_TEST_TIMEOUT=90 CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "corio.h"
#include "workers_net.h"

#define WORKERS 3
#define CLIENTS 8
#define CONNS_PER_CLIENT 6
#define TRIPS 40

static atomic_int served[WORKERS]; /* connections each worker handled */
static atomic_int trips_ok;        /* round trips verified by clients */
static int port;

static void echo_conn(int fd, const struct sockaddr *peer, socklen_t peer_len,
                      void *data)
{
    (void)data;
    int w = cio_workers_index();
    CHECK(w >= 0 && w < WORKERS);
    atomic_fetch_add(&served[w], 1);
    char buf[4096];
    for (;;) {
        ssize_t n = cio_fd_read(fd, buf, sizeof(buf), cio_deadline_in(20000));
        if (n <= 0)
            break;
        if (cio_fd_write_all(fd, buf, (size_t)n, cio_deadline_in(20000)) < 0)
            break;
    }
    cio_fd_close(fd);
}

static void *serve(void *arg)
{
    (void)arg;
    int r = cio_workers_serve(echo_conn, NULL, 0);
    CHECK_EQ(r, 0);
    return NULL;
}

/* Fills a message whose bytes depend on who sends it and when. */
static size_t make_msg(char *buf, unsigned client, unsigned conn, unsigned trip)
{
    size_t len = 1 + (client * 131 + conn * 17 + trip * 29) % 3000;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + (client + conn * 3 + trip * 7 + i) % 26);
    return len;
}

static void *client(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    char out[4096], in[4096];
    for (unsigned c = 0; c < CONNS_PER_CLIENT; c++) {
        int fd = wn_connect(port, 10);
        CHECK(fd >= 0);
        for (unsigned t = 0; t < TRIPS; t++) {
            size_t len = make_msg(out, id, c, t);
            CHECK_EQ(wn_write_all(fd, out, len), 0);
            CHECK_EQ(wn_read_full(fd, in, len), (ssize_t)len);
            CHECK(memcmp(in, out, len) == 0);
            atomic_fetch_add(&trips_ok, 1);
        }
        close(fd);
    }
    return NULL;
}

static void run(bool shared)
{
    for (int i = 0; i < WORKERS; i++)
        atomic_store(&served[i], 0);
    atomic_store(&trips_ok, 0);
    cio_workers_t *g;
    cio_workers_opts_t o = {
        .threads = WORKERS, .shared_listener = shared, .stop_grace_ms = 1000};
    CHECK_EQ(cio_workers_new(&g, &o), 0);
    port = cio_workers_listen(g, "127.0.0.1", 0, 0);
    CHECK(port > 0);
    CHECK_EQ(cio_workers_listen(g, "127.0.0.1", 0, 0), -EBUSY);
    if (shared)
        CHECK(!cio_workers_reuseport(g));
    printf("%s listener on port %d (reuseport: %s)\n",
           shared ? "shared" : "per-worker", port,
           cio_workers_reuseport(g) ? "yes" : "no");
    CHECK_EQ(cio_workers_start(g, serve, NULL), 0);

    pthread_t th[CLIENTS];
    for (uintptr_t i = 0; i < CLIENTS; i++)
        CHECK_EQ(pthread_create(&th[i], NULL, client, (void *)i), 0);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(atomic_load(&trips_ok), CLIENTS * CONNS_PER_CLIENT * TRIPS);

    int64_t t0 = wn_now_ms();
    cio_workers_stop(g);
    CHECK_EQ(cio_workers_wait(g), 0);
    CHECK(wn_now_ms() - t0 < 5000);
    int total = 0;
    printf("connections per worker:");
    for (int i = 0; i < WORKERS; i++) {
        printf(" %d", atomic_load(&served[i]));
        total += atomic_load(&served[i]);
    }
    printf("\n");
    CHECK_EQ(total, CLIENTS * CONNS_PER_CLIENT);
    cio_workers_free(g);

    /* The sockets are closed: nothing listens on the port any more. */
    int fd = wn_connect(port, 2);
    CHECK(fd < 0);
}

int main(void)
{
    run(false);
    run(true);
    puts("ok");
    return 0;
}
