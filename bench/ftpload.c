/* ftpload: an FTP load generator on corio, one task per client, fast
 * enough not to be the bottleneck (a Python client tops out near 1-2 GB/s
 * and hides the servers' differences).
 *
 *   bench_ftpload retr     -p PORT -n CLIENTS -f NAME   each downloads NAME
 *   bench_ftpload stor     -p PORT -n CLIENTS -s BYTES  each uploads its file
 *   bench_ftpload sessions -p PORT -n CLIENTS -t SECS   login+LIST+QUIT loops
 *   bench_ftpload connect  -p PORT -n CLIENTS           greeted within 1 s?
 *   bench_ftpload idle     -p PORT -n CLIENTS           hold logged-in sessions
 *
 * Prints one line of key=value pairs. Logs in as anonymous unless -u/-w.
 * -T speaks explicit FTPS (AUTH TLS, PROT P; no certificate check), each
 * data connection resuming its control connection's TLS session; the
 * client then really decrypts downloads and encrypts uploads. -C SUITES
 * offers only these TLS 1.3 suites (OpenSSL's names, colon-separated), so
 * that every server is measured with the same cipher; the line then says
 * which version and cipher the first data connection used.
 *
 * Data costs the client as little as the kernel allows, so that what is
 * measured is the server: uploads go out with sendfile(2) from a memfd of
 * zeros (no copy from user space) and downloads are discarded with
 * recv(MSG_TRUNC), which TCP drops without copying them out. Uploads keep
 * little unsent data queued (TCP_NOTSENT_LOWAT): on loopback, data queued
 * in a socket is transmitted when the receiver's ACKs arrive, that is on
 * the server's CPU, which a real network would never charge it with. */
#include <corio.h>
#include <corio/tls.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"

#define BUF (256u << 10)

struct opts {
    const char *mode;   /* retr, stor, sessions, connect, idle */
    int port;           /* server port on 127.0.0.1 */
    int clients;        /* tasks */
    const char *file;   /* retr: the file */
    long long size;     /* stor: bytes per upload */
    int seconds;        /* sessions: duration; idle: hold time */
    const char *user;   /* login name */
    const char *pass;   /* password */
    const char *prefix; /* stor: name prefix */
};

static struct opts o = {.port = 21,
                        .clients = 1,
                        .seconds = 5,
                        .user = "anonymous",
                        .pass = "bench@example.org",
                        .prefix = "up",
                        .size = 10 << 20};

/* Shared by every task of the run (one thread). */
static struct {
    long long bytes;   /* data bytes moved */
    long long done;    /* transfers or sessions completed */
    long long errors;  /* failures */
    long long greeted; /* connect mode: greetings within the window */
    long long resumed; /* -T: data connections that resumed TLS */
    char tls_used[96]; /* -T: "version=V cipher=C" of a data connection */
    int64_t *times;    /* per-transfer durations, ms */
    size_t ntimes;     /* entries in times */
    int64_t stop_at;   /* sessions mode: end time */
    int zeros;         /* upload payload: a memfd of BUF zero bytes */
    int ready;         /* sessions logged in */
    cio_sem_t *logins; /* bounds logins in progress (listen backlogs) */
    cio_event_t *go;   /* set once every transfer client is logged in */
    int64_t go_at;     /* when go was set */
} st;

/* Transfer clients log in a few at a time (a burst of connects overflows
 * some servers' listen backlog, which is what `connect` measures), then
 * all start their transfers together. */
static void arrived(void)
{
    if (st.ready + st.errors == o.clients && !cio_event_is_set(st.go)) {
        st.go_at = cio_hub_now();
        cio_event_set(st.go);
    }
}

#ifndef CIO_HAVE_TLS
#define cio_tls_conn_free(c) ((void)(c))
#endif

/* -T: the client context (NULL = plain FTP). */
static cio_tls_ctx_t *tls_ctx;

struct conn {
    int fd;              /* control connection */
    cio_tls_conn_t *tls; /* its TLS, or NULL */
    char buf[1024];      /* reply bytes read ahead */
    size_t len;          /* bytes in buf */
};

/* IO through TLS when t is set (never without -T). */
static ssize_t tls_or_read(cio_tls_conn_t *t, int fd, void *buf, size_t n,
                           int64_t dl)
{
#ifdef CIO_HAVE_TLS
    if (t)
        return cio_tls_conn_read(t, buf, n, dl);
#endif
    return cio_fd_read(fd, buf, n, dl);
}

static ssize_t tls_or_write(cio_tls_conn_t *t, int fd, const void *buf,
                            size_t n, int64_t dl)
{
#ifdef CIO_HAVE_TLS
    if (t)
        return cio_tls_conn_write(t, buf, n, dl);
#endif
    return cio_fd_write_all(fd, buf, n, dl);
}

/* A TLS client session on fd, resuming from's session when given. */
static int tls_start(int fd, cio_tls_conn_t *from, cio_tls_conn_t **out,
                     int64_t dl)
{
#ifdef CIO_HAVE_TLS
    cio_tls_session_t *sess;
    int rc = cio_tls_conn_new(out, tls_ctx, fd, NULL);
    if (rc < 0)
        return rc;
    if (from && cio_tls_conn_session_get(from, &sess) == 0) {
        cio_tls_conn_set_session(*out, sess);
        cio_tls_session_free(sess);
    }
    if ((rc = cio_tls_conn_handshake(*out, dl)) < 0) {
        if (getenv("FTPLOAD_DEBUG"))
            fprintf(stderr, "ftpload: TLS: %s\n", cio_tls_conn_error(*out));
        cio_tls_conn_free(*out);
        *out = NULL;
    } else if (from && cio_tls_conn_resumed(*out)) {
        st.resumed++;
    }
    if (rc == 0 && from && !st.tls_used[0])
        snprintf(st.tls_used, sizeof(st.tls_used), " version=%s cipher=%s",
                 cio_tls_conn_version(*out), cio_tls_conn_cipher(*out));
    return rc;
#else
    return -ENOTSUP;
#endif
}

static void conn_close(struct conn *c)
{
    cio_tls_conn_free(c->tls);
    c->tls = NULL;
    if (c->fd >= 0)
        cio_fd_close(c->fd);
    c->fd = -1;
}

static int dial(int port, int64_t deadline)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = cio_sock_connect(fd, (struct sockaddr *)&a, sizeof(a), deadline);
    if (rc < 0) {
        cio_fd_close(fd);
        return rc;
    }
    return fd;
}

/* Reads one whole reply; returns its code and copies the last line. */
static int reply(struct conn *c, char *line, size_t linelen, int64_t dl)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            size_t n = (size_t)(nl - c->buf) + 1;
            bool last = n >= 4 && c->buf[3] == ' ';
            int code = atoi(c->buf);
            if (line && last) {
                size_t k = n < linelen ? n : linelen - 1;
                memcpy(line, c->buf, k);
                line[k] = '\0';
            }
            memmove(c->buf, c->buf + n, c->len - n);
            c->len -= n;
            if (last)
                return code;
            continue;
        }
        if (c->len == sizeof(c->buf))
            c->len = 0; /* an overlong line: drop it */
        ssize_t r = tls_or_read(c->tls, c->fd, c->buf + c->len,
                                sizeof(c->buf) - c->len, dl);
        if (r <= 0)
            return r < 0 ? (int)r : -EPIPE;
        c->len += (size_t)r;
    }
}

static int cmd(struct conn *c, const char *text, char *line, size_t linelen,
               int64_t dl)
{
    char out[512];
    int n = snprintf(out, sizeof(out), "%s\r\n", text);
    if (tls_or_write(c->tls, c->fd, out, (size_t)n, dl) < 0)
        return -EPIPE;
    return reply(c, line, linelen, dl);
}

static int login(struct conn *c, int64_t dl)
{
    char text[256];
    if ((c->fd = dial(o.port, dl)) < 0)
        return c->fd;
    c->len = 0;
    if (reply(c, NULL, 0, dl) != 220)
        return -EPROTO;
    if (tls_ctx) {
        int rc;
        if (cmd(c, "AUTH TLS", NULL, 0, dl) != 234)
            return -EPROTO;
        if ((rc = tls_start(c->fd, NULL, &c->tls, dl)) < 0)
            return rc;
        if (cmd(c, "PBSZ 0", NULL, 0, dl) != 200 ||
            cmd(c, "PROT P", NULL, 0, dl) != 200)
            return -EPROTO;
    }
    snprintf(text, sizeof(text), "USER %s", o.user);
    int code = cmd(c, text, NULL, 0, dl);
    if (code == 331) {
        snprintf(text, sizeof(text), "PASS %s", o.pass);
        code = cmd(c, text, NULL, 0, dl);
    }
    if (code != 230) {
        if (getenv("FTPLOAD_DEBUG"))
            fprintf(stderr, "ftpload: login answered %d\n", code);
        return -EACCES;
    }
    return cmd(c, "TYPE I", NULL, 0, dl) == 200 ? 0 : -EPROTO;
}

/* EPSV and connect; returns the data fd. */
static int open_data(struct conn *c, int64_t dl)
{
    char line[256];
    if (cmd(c, "EPSV", line, sizeof(line), dl) != 229)
        return -EPROTO;
    char *p = strstr(line, "(|||");
    if (!p)
        return -EPROTO;
    return dial(atoi(p + 4), dl);
}

static void record(int64_t ms)
{
    st.times[st.ntimes++] = ms;
}

/* Moves the data of a PROT P transfer: uploads write zeros in 256 KiB
 * writes (full 16 KiB records), downloads decrypt into buf. Bytes moved. */
static long long tls_data(struct conn *c, int dfd, bool upload, long long size,
                          char *buf, int64_t dl)
{
    cio_tls_conn_t *t = NULL;
    long long moved = 0;
    if (tls_start(dfd, c->tls, &t, dl) < 0)
        return 0;
#ifdef CIO_HAVE_TLS
    if (upload) {
        memset(buf, 0, BUF);
        while (moved < size) {
            size_t chunk = size - moved < BUF ? (size_t)(size - moved) : BUF;
            if (cio_tls_conn_write(t, buf, chunk, dl) < 0)
                break;
            moved += (long long)chunk;
        }
        /* close_notify, then the server's: no reset under unread data */
        if (cio_tls_conn_shutdown(t, dl) == 0)
            while (cio_tls_conn_read(t, buf, BUF, dl) > 0)
                ;
    } else {
        /* Decrypted data is thrown away: every task decrypts into one
         * buffer, which stays in the CPU's cache. */
        static char sink[64 << 10];
        ssize_t r;
        while ((r = cio_tls_conn_read(t, sink, sizeof(sink), dl)) > 0)
            moved += r;
    }
#endif
    cio_tls_conn_free(t);
    return moved;
}

/* One transfer command with its data connection; 0 or -errno. */
static int transfer(struct conn *c, const char *text, bool upload,
                    long long size, char *buf, int64_t dl)
{
    int dfd = open_data(c, dl);
    if (dfd < 0)
        return dfd;
    char out[512];
    int n = snprintf(out, sizeof(out), "%s\r\n", text);
    int code = -EPIPE;
    if (tls_or_write(c->tls, c->fd, out, (size_t)n, dl) < 0 ||
        (code = reply(c, NULL, 0, dl)) / 100 != 1) {
        cio_fd_close(dfd);
        return code < 0 ? code : -EPROTO;
    }
    long long moved = 0;
    if (c->tls) {
        moved = tls_data(c, dfd, upload, size, buf, dl);
    } else if (upload) {
        int lowat = 512 << 10;
        setsockopt(dfd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
        while (moved < size) {
            size_t chunk = size - moved < BUF ? (size_t)(size - moved) : BUF;
            off_t off = 0;
            ssize_t w = cio_fd_sendfile(dfd, st.zeros, &off, chunk, dl);
            if (w <= 0)
                break;
            moved += w;
        }
    } else {
        ssize_t r;
        while ((r = cio_sock_recv(dfd, buf, BUF, MSG_TRUNC, dl)) > 0)
            moved += r;
    }
    cio_fd_close(dfd);
    st.bytes += moved;
    return reply(c, NULL, 0, dl) == 226 ? 0 : -EPROTO;
}

static void *xfer_client(void *arg)
{
    int id = (int)(intptr_t)arg;
    struct conn c = {.fd = -1};
    char *buf = malloc(BUF), name[300];
    int64_t dl = cio_deadline_in(120000);
    int rc = cio_sem_acquire(st.logins, dl);
    if (rc == 0) {
        rc = buf ? login(&c, dl) : -ENOMEM;
        cio_sem_release(st.logins);
    }
    if (rc == 0) {
        st.ready++;
        arrived();
        cio_event_wait(st.go, dl);
        dl = cio_deadline_in(120000);
        int64_t t0 = cio_hub_now();
        bool up = !strcmp(o.mode, "stor");
        if (up)
            snprintf(name, sizeof(name), "STOR %s-%d-%d", o.prefix, getpid(),
                     id);
        else
            snprintf(name, sizeof(name), "RETR %s", o.file);
        rc = transfer(&c, name, up, o.size, buf, dl);
        record(cio_hub_now() - t0);
        cmd(&c, "QUIT", NULL, 0, dl);
    }
    if (rc < 0) {
        st.errors++;
        arrived();
    } else {
        st.done++;
    }
    conn_close(&c);
    free(buf);
    return NULL;
}

static void *session_client(void *arg)
{
    char *buf = malloc(BUF);
    while (buf && cio_hub_now() < st.stop_at) {
        struct conn c = {.fd = -1};
        int64_t dl = cio_deadline_in(30000);
        int rc = login(&c, dl);
        if (rc == 0)
            rc = transfer(&c, "LIST", false, 0, buf, dl);
        if (rc == 0)
            rc = cmd(&c, "QUIT", NULL, 0, dl) == 221 ? 0 : -EPROTO;
        conn_close(&c);
        if (rc < 0)
            st.errors++;
        else
            st.done++;
    }
    free(buf);
    return NULL;
}

/* Connect mode: the deadline is shared, set before any task starts. */
static int64_t window_end;

static void *connect_client(void *arg)
{
    struct conn c = {.fd = -1};
    if ((c.fd = dial(o.port, window_end)) >= 0 &&
        reply(&c, NULL, 0, window_end) == 220)
        st.greeted++;
    else
        st.errors++;
    cio_task_sleep(200); /* keep them all open at once */
    if (c.fd >= 0)
        cio_fd_close(c.fd);
    return NULL;
}

static void *idle_client(void *arg)
{
    struct conn c = {.fd = -1};
    int64_t dl = cio_deadline_in(120000);
    int rc = cio_sem_acquire(st.logins, dl);
    if (rc == 0) {
        rc = login(&c, dl);
        cio_sem_release(st.logins);
    }
    if (rc < 0 && st.errors == 0)
        fprintf(stderr, "ftpload: first login failure: %s\n", cio_strerror(rc));
    if (rc == 0) {
        st.ready++;
        cio_task_sleep((int64_t)o.seconds * 1000);
        cmd(&c, "QUIT", NULL, 0, cio_deadline_in(10000));
    } else {
        st.errors++;
    }
    conn_close(&c);
    return NULL;
}

static void *reporter(void *arg)
{
    /* idle mode: say when every session is in, for the script to measure */
    while (st.ready + st.errors < o.clients)
        cio_task_sleep(50);
    printf("ready=%d errors=%lld\n", st.ready, st.errors);
    fflush(stdout);
    return NULL;
}

static int cmp_ms(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void *run(void *arg)
{
    cio_task_cb fn = !strcmp(o.mode, "sessions")  ? session_client
                     : !strcmp(o.mode, "connect") ? connect_client
                     : !strcmp(o.mode, "idle")    ? idle_client
                                                  : xfer_client;
    cio_task_t **tasks = calloc((size_t)o.clients, sizeof(*tasks));
    if (cio_sem_new(&st.logins, 32) < 0 || cio_event_new(&st.go) < 0)
        return NULL;
    int64_t t0 = cio_hub_now();
    st.stop_at = t0 + (int64_t)o.seconds * 1000;
    window_end = t0 + 1000;
    if (!strcmp(o.mode, "idle"))
        cio_task_spawn(NULL, reporter, NULL);
    for (int i = 0; tasks && i < o.clients; i++)
        if (cio_task_spawn(&tasks[i], fn, (void *)(intptr_t)i) < 0)
            st.errors++;
    cio_task_join_all(tasks, (size_t)o.clients, -1);
    if (st.go_at)
        t0 = st.go_at; /* transfers: time from the common start */
    double secs = (double)(cio_hub_now() - t0) / 1000.0;
    for (int i = 0; tasks && i < o.clients; i++)
        if (tasks[i])
            cio_task_free(tasks[i]);
    free(tasks);
    cio_sem_free(st.logins);
    cio_event_free(st.go);
    if (!strcmp(o.mode, "sessions")) {
        printf("sessions=%lld seconds=%.2f per_sec=%.0f errors=%lld "
               "resumed=%lld resumed_per_sec=%.0f%s\n",
               st.done, secs, (double)st.done / secs, st.errors, st.resumed,
               (double)st.resumed / secs, st.tls_used);
    } else if (!strcmp(o.mode, "connect")) {
        printf("clients=%d greeted=%lld errors=%lld\n", o.clients, st.greeted,
               st.errors);
    } else if (strcmp(o.mode, "idle") != 0) {
        qsort(st.times, st.ntimes, sizeof(*st.times), cmp_ms);
        int64_t p99 =
            st.ntimes ? st.times[(st.ntimes * 99) / 100 -
                                 (st.ntimes * 99 % 100 == 0 && st.ntimes > 1)]
                      : 0;
        printf("clients=%d bytes=%lld seconds=%.3f mbps=%.1f p99_ms=%lld "
               "errors=%lld resumed=%lld%s\n",
               o.clients, st.bytes, secs, (double)st.bytes / 1e6 / secs,
               (long long)p99, st.errors, st.resumed, st.tls_used);
    }
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_ftpload retr|stor|sessions|connect|idle "
                    "-p PORT [-n CLIENTS] [-f FILE] [-s BYTES] [-t SECONDS] "
                    "[-u USER -w PASS] [-x PREFIX] [-T [-C SUITES]]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_ftpload",
              "retr|stor|sessions|connect|idle -p PORT [options]",
              "FTP load against a server on 127.0.0.1 (the options of each "
              "mode are\nat the top of bench/ftpload.c). Ends with one RESULT "
              "line.\n  --help, --version\n");
    if (argc < 2)
        usage();
    o.mode = argv[1];
    int c;
    optind = 2;
    bool tls = false;
    const char *suites = NULL;
    while ((c = getopt(argc, argv, "p:n:f:s:t:u:w:x:TC:")) != -1) {
        switch (c) {
        case 'p':
            o.port = atoi(optarg);
            break;
        case 'n':
            o.clients = atoi(optarg);
            break;
        case 'f':
            o.file = optarg;
            break;
        case 's':
            o.size = atoll(optarg);
            break;
        case 't':
            o.seconds = atoi(optarg);
            break;
        case 'u':
            o.user = optarg;
            break;
        case 'w':
            o.pass = optarg;
            break;
        case 'x':
            o.prefix = optarg;
            break;
        case 'T':
            tls = true;
            break;
        case 'C':
            suites = optarg;
            break;
        default:
            usage();
        }
    }
    if (o.clients < 1 || (!strcmp(o.mode, "retr") && !o.file))
        usage();
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    st.times = calloc((size_t)o.clients + 1, sizeof(*st.times));
    st.zeros = memfd_create("ftpload-zeros", MFD_CLOEXEC);
    if (!st.times || st.zeros < 0 || ftruncate(st.zeros, BUF) < 0)
        return 1;
    cio_hub_opts_t ro = {.stack_size = 32 * 1024, .dump_on_sigquit = true};
    if (tls) {
#ifdef CIO_HAVE_TLS
        cio_tls_ctx_opts_t to = {.no_verify = true, .ciphersuites = suites};
        char err[256];
        if (cio_tls_ctx_new(&tls_ctx, &to, err, sizeof(err)) < 0) {
            fprintf(stderr, "ftpload: %s\n", err);
            return 1;
        }
        ro.stack_size = 128 * 1024; /* OpenSSL's handshake is deep */
#else
        fprintf(stderr, "ftpload: built without OpenSSL: no -T\n");
        return 1;
#endif
    }
    int rc = cio_hub_run_ex(&ro, NULL, run, NULL);
#ifdef CIO_HAVE_TLS
    cio_tls_ctx_free(tls_ctx);
#endif
    free(st.times);
    close(st.zeros);
    return rc < 0 || st.errors ? 1 : 0;
}
