/* The offload pools: a name lookup of localhost runs on the DNS pool while
 * other tasks keep running (they count ticks meanwhile), errors map to
 * negative errno values, jobs outlive callers that stop waiting, file calls
 * work on the file pool, and everything runs inline outside a task.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

static long ticks;
static volatile int job_ran;

static void *ticker(void *arg)
{
    (void)arg;
    while (cio_task_sleep(1) == 0)
        ticks++;
    return NULL;
}

static long slow(void *arg)
{
    usleep(100 * 1000);
    job_ran = 1;
    return (long)(intptr_t)arg;
}

static long slower(void *arg)
{
    usleep(300 * 1000);
    return (long)(intptr_t)arg;
}

static void *file_hog(void *arg)
{
    long r;
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, slower, arg, -1), 0);
    return NULL;
}

/* A file call waits for a free file thread only until its deadline. */
static void file_deadline(const char *path)
{
    /* On io_uring in completion mode file calls run on the ring, with no
     * pool to wait for (tests/hub_ops_cancel.c covers their deadlines). */
    if (strcmp(cio_loop_backend(cio_hub_loop()), "uring") == 0 &&
        !getenv("CIO_URING_READINESS")) {
        printf("file pool deadlines: not used on io_uring\n");
        return;
    }
    cio_task_t *hogs[8];
    for (int i = 0; i < 8; i++) /* more than the pool's threads */
        CHECK_EQ(cio_task_spawn(&hogs[i], file_hog, NULL), 0);
    CHECK_EQ(cio_task_sleep(0), 0); /* the hogs queue their jobs */
    int64_t t0 = cio_hub_now();
    CHECK_EQ(cio_file_open(path, O_RDONLY, 0, cio_deadline_in(20)), -ETIMEDOUT);
    struct stat st;
    CHECK_EQ(cio_file_stat(path, &st, cio_deadline_in(20)), -ETIMEDOUT);
    CHECK_EQ(cio_file_fsync(0, cio_deadline_in(20)), -ETIMEDOUT);
    int64_t took = cio_hub_now() - t0;
    CHECK(took >= 40 && took < 280); /* the hogs hold the pool 300 ms */
    CHECK_EQ(cio_task_join_all(hogs, 8, -1), 0);
    for (int i = 0; i < 8; i++)
        cio_task_free(hogs[i]);
    CHECK_EQ(cio_file_stat(path, &st, 0), -ETIMEDOUT); /* passed already */
    CHECK_EQ(cio_file_stat(path, &st, cio_deadline_in(5000)), 0);
}

/* A name that does not resolve gives one error, in a task or not. */
static int listen_unresolved(void)
{
    int rc =
        cio_tcp_listen("no-such-host.invalid", 0, 0, cio_deadline_in(5000));
    CHECK(rc == -ENOENT || rc == -EAGAIN); /* EAGAIN: no resolver at all */
    return rc;
}

static void *listen_unresolved_task(void *arg)
{
    CHECK_EQ(listen_unresolved(), *(int *)arg);
    return NULL;
}

static long spins;
static bool stop_spinning;

static void *spinner(void *arg)
{
    (void)arg;
    while (!stop_spinning && cio_task_sleep(0) == 0)
        spins++;
    return NULL;
}

static int dns_done;

static void *dns_hog(void *arg)
{
    (void)arg;
    long r;
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_DNS, slow, NULL, -1), 0);
    dns_done++;
    return NULL;
}

static long quick(void *arg)
{
    return (long)(intptr_t)arg;
}

/* Fills a caller's stack buffer from the pool thread, slowly. */
static long fill_slowly(void *arg)
{
    char *buf = arg;
    usleep(100 * 1000);
    for (int i = 0; i < 512; i++)
        buf[i] = (char)i;
    return 1;
}

static void *main_task(void *arg)
{
    const char *dir = arg;
    cio_task_t *tick;
    CHECK_EQ(cio_task_spawn(&tick, ticker, NULL), 0);

    /* a slow job: the ticker keeps running while we wait */
    long r = 0;
    ticks = 0;
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, slow, (void *)42, -1), 0);
    CHECK_EQ(r, 42);
    fprintf(stderr, "ticks during a 100 ms job: %ld\n", ticks);
    CHECK(ticks >= 10);

    /* localhost through the DNS pool */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    ticks = 0;
    cio_task_t *spin;
    CHECK_EQ(cio_task_spawn(&spin, spinner, NULL), 0);
    CHECK_EQ(cio_task_sleep(0), 0);
    long before = spins;
    CHECK_EQ(cio_dns_getaddrinfo("localhost", "80", &hints, &res, -1), 0);
    fprintf(stderr, "spins during the lookup of localhost: %ld\n",
            spins - before);
    CHECK(spins > before);
    stop_spinning = true;
    CHECK_EQ(cio_task_join(spin, -1), 0);
    cio_task_free(spin);
    CHECK(res != NULL);
    bool loopback = false;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET)
            loopback |= ((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr ==
                        htonl(INADDR_LOOPBACK);
        if (ai->ai_family == AF_INET6)
            loopback = true;
    }
    CHECK(loopback);
    freeaddrinfo(res);
    /* many lookups at once, with the ticker between them */
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(cio_dns_getaddrinfo("localhost", NULL, &hints, &res, -1), 0);
        freeaddrinfo(res);
    }
    fprintf(stderr, "ticks during 21 lookups: %ld\n", ticks);

    /* numeric names are answered inline; errors map to -errno */
    CHECK_EQ(cio_dns_getaddrinfo("127.0.0.1", "21", NULL, &res, 0), 0);
    freeaddrinfo(res);
    CHECK_EQ(cio_dns_getaddrinfo("::1", NULL, NULL, &res, 0), 0);
    freeaddrinfo(res);
    CHECK_EQ(cio_dns_getaddrinfo(NULL, NULL, NULL, &res, -1), -EINVAL);
    struct addrinfo bad = {.ai_family = 12345};
    CHECK_EQ(cio_dns_getaddrinfo("localhost", NULL, &bad, &res, -1), -EINVAL);
    struct addrinfo badflags = {.ai_flags = 0x7fff0000};
    CHECK_EQ(cio_dns_getaddrinfo("localhost", NULL, &badflags, &res, -1),
             -EINVAL);
    CHECK_EQ(cio_dns_getaddrinfo("localhost", "no-such-service-xyz", &hints,
                                 &res, -1),
             -EINVAL);
    CHECK(res == NULL);
    int rc = cio_dns_getaddrinfo("no-such-host.invalid", NULL, NULL, &res,
                                 cio_deadline_in(3000));
    fprintf(stderr, "lookup of no-such-host.invalid: %d\n", rc);
    CHECK(rc == -ENOENT || rc == -EAGAIN || rc == -ETIMEDOUT);

    /* a caller whose deadline passes gets -ETIMEDOUT at once; the job runs
     * to its end and is dropped */
    job_ran = 0;
    int64_t start = cio_hub_now();
    CHECK_EQ(
        cio_offload_run(&r, CIO_OFFLOAD_DNS, slow, NULL, cio_deadline_in(10)),
        -ETIMEDOUT);
    CHECK(cio_hub_now() - start < 90);
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_DNS, slow, NULL, 0), -ETIMEDOUT);
    for (int i = 0; i < 500 && !job_ran; i++) /* up to 5 s on a busy host */
        CHECK_EQ(cio_task_sleep(10), 0);
    CHECK(job_ran);

    /* DNS and files do not share threads: a file job goes through while
     * every DNS thread is busy */
    dns_done = 0;
    for (int i = 0; i < 6; i++)
        CHECK_EQ(cio_task_spawn(NULL, dns_hog, NULL), 0);
    CHECK_EQ(cio_task_sleep(10), 0);
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, quick, (void *)8, -1), 0);
    CHECK_EQ(r, 8);
    CHECK_EQ(dns_done, 0);
    while (dns_done < 6)
        CHECK_EQ(cio_task_sleep(10), 0);
    cio_offload_set_threads(CIO_OFFLOAD_DNS, 4);

    /* file calls */
    char path[256];
    snprintf(path, sizeof path, "%s/f", dir);
    int fd = cio_file_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600, -1);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "12345", 5), 5);
    CHECK_EQ(cio_file_fsync(fd, -1), 0);
    close(fd);
    struct stat st;
    CHECK_EQ(cio_file_stat(path, &st, -1), 0);
    CHECK_EQ(st.st_size, 5);
    CHECK_EQ(cio_file_stat("/nonexistent/x", &st, -1), -ENOENT);
    CHECK_EQ(cio_file_open("/nonexistent/x", O_RDONLY, 0, -1), -ENOENT);
    CHECK_EQ(cio_file_fsync(-1, -1), -EBADF);
    file_deadline(path);
    unlink(path);

    /* a job writing into the waiting task's stack, with stack shrinking on:
     * the stack stays in place while the job runs */
    cio_hub_set_shrink_after(10);
    char stack_buf[512] = {0};
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, fill_slowly, stack_buf, -1),
             0);
    for (int i = 0; i < 512; i++)
        CHECK_EQ(stack_buf[i], (char)i);
    cio_hub_set_shrink_after(0);

    CHECK_EQ(cio_task_kill(tick), 0);
    CHECK_EQ(cio_task_join(tick, -1), 0);
    cio_task_free(tick);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/cio_offload_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    /* outside a task the calls run inline */
    long r = 0;
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, slow, (void *)3, -1), 0);
    CHECK_EQ(r, 3);
    struct stat st;
    CHECK_EQ(cio_file_stat(dir, &st, -1), 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK_EQ(cio_hub_run(NULL, main_task, dir), 0);
    int unresolved = listen_unresolved();
    CHECK_EQ(cio_hub_run(NULL, listen_unresolved_task, &unresolved), 0);
    rmdir(dir);
    return 0;
}
