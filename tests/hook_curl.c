/* A real third-party blocking library made to cooperate: libcurl's easy
 * interface, unmodified, fetching from a local HTTP server (corio tasks on
 * 127.0.0.1, port 0) that delays every reply 200 ms. 100 fetches run in
 * 100 tasks on one thread; with the hooks they overlap, so they take a
 * small multiple of one fetch instead of 100 x 200 ms.
 * CIO_TEST_TIMEOUT=60 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "corio.h"
#include "hook_util.h"
#include "corio/hook.h"

#if !__has_include(<curl/curl.h>)
int main(void)
{
    CHECK_SKIP("libcurl headers not installed (libcurl4-openssl-dev)");
}
#else
#include <curl/curl.h>

#define FETCHES 100
#define DELAY_MS 200

/* ---- the server: one task per connection, corio calls ---- */

static void http_conn(int fd, const struct sockaddr *peer, socklen_t peer_len,
                      void *data)
{
    char req[2048];
    size_t len = 0;
    while (len < sizeof(req) - 1) {
        ssize_t n = cio_fd_read(fd, req + len, sizeof(req) - 1 - len, -1);
        if (n <= 0)
            break;
        len += (size_t)n;
        req[len] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    unsigned item = 0;
    if (len > 0 && sscanf(req, "GET /item/%u ", &item) == 1 &&
        cio_task_sleep(DELAY_MS) == 0) {
        char body[64], resp[256];
        int blen = snprintf(body, sizeof(body), "this is item %u\n", item);
        int rlen = snprintf(resp, sizeof(resp),
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                            "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                            blen, body);
        cio_fd_write_all(fd, resp, (size_t)rlen, -1);
    }
    cio_fd_close(fd);
}

/* ---- the clients: plain curl_easy_perform ---- */

struct fetch {
    int port;       /* the server's */
    unsigned item;  /* which item to ask for */
    char body[128]; /* what came back */
    size_t len;
    CURLcode rc; /* curl_easy_perform's result */
    long status; /* the HTTP status */
    bool hooked; /* cio_hook_enabled() in the task */
};

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
    struct fetch *f = arg;
    size_t len = size * n;
    if (len > sizeof(f->body) - 1 - f->len)
        return 0; /* too much: curl reports a write error */
    memcpy(f->body + f->len, ptr, len);
    f->len += len;
    f->body[f->len] = '\0';
    return len;
}

static void *fetch_task(void *arg)
{
    struct fetch *f = arg;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/item/%u", f->port, f->item);
    f->hooked = cio_hook_enabled();
    CURL *h = curl_easy_init();
    CHECK(h != NULL);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    f->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f->status);
    curl_easy_cleanup(h);
    return NULL;
}

static void check_fetch(const struct fetch *f)
{
    char want[64];
    snprintf(want, sizeof(want), "this is item %u\n", f->item);
    if (f->rc != CURLE_OK)
        fprintf(stderr, "item %u: %s\n", f->item, curl_easy_strerror(f->rc));
    CHECK_EQ(f->rc, CURLE_OK);
    CHECK_EQ(f->status, 200);
    CHECK(f->hooked);
    CHECK_STREQ(f->body, want);
}

/* Runs n fetches at once; returns the milliseconds they took. */
static double fetch_all(struct fetch *f, int n, int port, unsigned first)
{
    cio_task_t *t[FETCHES];
    double t0 = now_ms();
    for (int i = 0; i < n; i++) {
        memset(&f[i], 0, sizeof(f[i]));
        f[i].port = port;
        f[i].item = first + (unsigned)i;
        CHECK(cio_task_spawn(&t[i], fetch_task, &f[i]) == 0);
    }
    CHECK(cio_task_join_all(t, (size_t)n, -1) == 0);
    double took = now_ms() - t0;
    for (int i = 0; i < n; i++) {
        cio_task_free(t[i]);
        check_fetch(&f[i]);
    }
    return took;
}

static void *main_task(void *arg)
{
    static struct fetch f[FETCHES];
    int lfd = cio_tcp_listen("127.0.0.1", 0, 0, -1);
    CHECK(lfd >= 0);
    int port = cio_sock_port(lfd);
    cio_server_t *srv;
    CHECK(cio_server_start(&srv, lfd, http_conn, NULL, 0) == 0);

    double one = fetch_all(f, 1, port, 1000);
    double all = fetch_all(f, FETCHES, port, 0);
    printf("one fetch: %.1f ms; %d fetches at once: %.1f ms "
           "(one after another: at least %d ms)\n",
           one, FETCHES, all, FETCHES * DELAY_MS);
    /* Generous: sequential would be 20 s; overlapping is about 0.2 s. */
    CHECK(all < FETCHES * DELAY_MS / 4);

    CHECK(cio_server_stop(srv, cio_deadline_in(1000)) == 0);
    cio_server_free(srv);
    return NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    CHECK(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    /* curl and OpenSSL want more stack than a small task has. */
    cio_hub_opts_t opts = {.stack_size = 512 * 1024};
    CHECK(cio_hub_run_ex(&opts, NULL, main_task, NULL) == 0);
    curl_global_cleanup();
    return 0;
}
#endif
