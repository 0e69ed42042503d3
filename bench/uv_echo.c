/* The libuv baseline for the echo benchmark: the same protocol and flags
 * as bench_epoll_echo (TCP_NODELAY, 64 KiB reads, replies sent at once
 * with uv_try_write and queued only when the socket is full).
 *
 *   bench_uv_echo [-p PORT]
 * Prints "listening on 127.0.0.1:PORT"; exits 0 on SIGINT or SIGTERM.
 * Built without libuv it prints SKIP and exits 77. */
#include <stdio.h>

#if !__has_include(<uv.h>)
int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_uv_echo", "[-p PORT]",
              "An echo server on libuv: a baseline of the echo benchmarks.\n  "
              "-p PORT   port on 127.0.0.1 (default 9999; 0 picks one)\n  "
              "--help, --version\n");
    puts("SKIP: built without libuv (libuv1-dev)");
    return 77;
}
#else
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/cli.h"

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_signal_t sig_int, sig_term;
static char buf[65536]; /* replies are sent before the next read */

/* A reply the socket could not take at once. */
typedef struct pending_write {
    uv_write_t req; /* libuv's request */
    char data[];    /* the unsent bytes */
} pending_write_t;

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *out)
{
    (void)h, (void)hint;
    *out = uv_buf_init(buf, sizeof buf);
}

static void on_closed(uv_handle_t *h)
{
    free(h);
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *in)
{
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (n == 0)
        return;
    uv_buf_t out = uv_buf_init(in->base, (unsigned)n);
    int sent = uv_try_write(s, &out, 1);
    if (sent == UV_EAGAIN)
        sent = 0;
    if (sent < 0) {
        uv_close((uv_handle_t *)s, on_closed);
        return;
    }
    if (sent < n) {
        size_t rest = (size_t)(n - sent);
        pending_write_t *w = malloc(sizeof *w + rest);
        if (!w) {
            uv_close((uv_handle_t *)s, on_closed);
            return;
        }
        memcpy(w->data, in->base + sent, rest);
        uv_buf_t b = uv_buf_init(w->data, (unsigned)rest);
        uv_write(&w->req, s, &b, 1, on_written);
    }
}

static void on_connection(uv_stream_t *srv, int status)
{
    if (status < 0)
        return;
    uv_tcp_t *c = malloc(sizeof *c);
    if (!c)
        return;
    uv_tcp_init(loop, c);
    if (uv_accept(srv, (uv_stream_t *)c) < 0) {
        uv_close((uv_handle_t *)c, on_closed);
        return;
    }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

static void close_all(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h))
        return;
    if (h == (uv_handle_t *)&server || h == (uv_handle_t *)&sig_int ||
        h == (uv_handle_t *)&sig_term)
        uv_close(h, NULL);
    else if (h->type == UV_TCP)
        uv_close(h, on_closed);
}

static void on_signal(uv_signal_t *h, int signum)
{
    (void)h, (void)signum;
    uv_walk(loop, close_all, NULL);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_uv_echo", "[-p PORT]",
              "An echo server on libuv: a baseline of the echo benchmarks.\n  "
              "-p PORT   port on 127.0.0.1 (default 9999; 0 picks one)\n  "
              "--help, --version\n");
    int port = 9999, opt;
    while ((opt = getopt(argc, argv, "p:")) != -1) {
        if (opt != 'p') {
            fprintf(stderr, "usage: %s [-p PORT]\n", argv[0]);
            return 2;
        }
        port = atoi(optarg);
    }
    loop = uv_default_loop();
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(loop, &server);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection);
    if (rc < 0) {
        fprintf(stderr, "listen: %s\n", uv_strerror(rc));
        return 1;
    }
    int len = sizeof addr;
    uv_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
    uv_signal_init(loop, &sig_int);
    uv_signal_init(loop, &sig_term);
    uv_signal_start(&sig_int, on_signal, SIGINT);
    uv_signal_start(&sig_term, on_signal, SIGTERM);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
#endif
