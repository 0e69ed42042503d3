/* cio_hub_set_shrink_after: tasks that wait long give their stacks back
 * (the resident memory drops) and find their stack contents intact when
 * they resume. Also the cio_hub_dump listing and its SIGQUIT trigger.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

enum { TASKS = 2000, DEEP = 32 * 1024 };

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Dirties DEEP bytes of stack, then returns: those pages are dead weight
 * while the task waits afterwards. */
static __attribute__((noinline)) int deep(int seed)
{
    volatile char buf[DEEP];
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (char)(seed + (int)i);
    return buf[seed % 512];
}

enum { FD_TASKS = 100 };

static int intact;
static cio_event_t *wake_up;
static cio_queue_t *items;
static int pairs[FD_TASKS][2];
static int poll_pair[2][2]; /* a task polls both while shrunk */

static void *napper(void *arg)
{
    int id = (int)(intptr_t)arg;
    char pattern[300];
    deep(id);
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (char)(id * 31 + (int)i);
    /* wait on shrunk stacks in the three kinds of wait queues */
    if (id == FD_TASKS) {
        struct pollfd p[2] = {{.fd = poll_pair[0][0], .events = POLLIN},
                              {.fd = poll_pair[1][0], .events = POLLIN}};
        CHECK_EQ(cio_fd_poll(p, 2, -1), 1);
        CHECK(p[1].revents & POLLIN);
    } else if (id < FD_TASKS) {
        char c;
        CHECK_EQ(cio_fd_read(pairs[id][0], &c, 1, -1), 1);
        CHECK_EQ(c, (char)id);
    } else if (id % 2) {
        void *item;
        CHECK_EQ(cio_queue_get(items, &item, -1), 0);
    } else {
        CHECK_EQ(cio_event_wait(wake_up, -1), 0);
    }
    for (size_t i = 0; i < sizeof pattern; i++)
        CHECK_EQ(pattern[i], (char)(id * 31 + (int)i));
    CHECK(cio_task_self() != NULL);
    intact++;
    return NULL;
}

static void *main_task(void *arg)
{
    (void)arg;
    cio_hub_set_shrink_after(300);
    CHECK_EQ(cio_event_new(&wake_up), 0);
    CHECK_EQ(cio_queue_new(&items, 0), 0);
    for (int i = 0; i < FD_TASKS; i++)
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pairs[i]), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, poll_pair[i]), 0);
    int64_t start = cio_hub_now();
    for (intptr_t i = 0; i < TASKS; i++)
        CHECK_EQ(cio_task_spawn(NULL, napper, (void *)i), 0);
    CHECK_EQ(cio_task_sleep(30), 0); /* all wait, none shrunk yet */
    long before = rss_kib();
    bool early = cio_hub_now() - start < 250;
    CHECK_EQ(cio_task_sleep(600), 0); /* now they have been shrunk */
    long after = rss_kib();
    fprintf(stderr, "resident: %ld KiB waiting, %ld KiB shrunk\n", before,
            after);
    if (early) /* a loaded machine may have been too slow to look */
        CHECK(before - after > TASKS * (DEEP / 1024) / 2);

    /* the listing names the tasks and what they wait on */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    CHECK(mem != NULL);
    cio_task_set_name(cio_task_self(), "lister");
    cio_hub_dump(mem);
    fclose(mem);
    CHECK(strstr(text, "lister") != NULL);
    CHECK(strstr(text, "running") != NULL);
    CHECK(strstr(text, "waiting  on event") != NULL);
    CHECK(strstr(text, "waiting  on queue get") != NULL);
    CHECK(strstr(text, "waiting  on fd read") != NULL);
    CHECK(strstr(text, "waiting  on poll of fds 2") != NULL);
    free(text);

    /* SIGQUIT prints the same listing */
    char tmpl[] = "/tmp/cio_dump_XXXXXX";
    int fd = mkstemp(tmpl);
    CHECK(fd >= 0);
    unlink(tmpl);
    int saved = dup(2);
    dup2(fd, 2);
    raise(SIGQUIT);
    CHECK_EQ(cio_task_sleep(50), 0);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char report[256] = {0};
    CHECK(pread(fd, report, sizeof report - 1, 0) > 0);
    close(fd);
    CHECK(strstr(report, "corio: ") != NULL);
    CHECK(strstr(report, "task") != NULL);

    cio_hub_set_shrink_after(0);
    cio_event_set(wake_up);
    CHECK_EQ(cio_fd_write(poll_pair[1][1], "p", 1, -1), 1);
    for (int i = FD_TASKS + 1; i < TASKS; i++)
        if (i % 2)
            CHECK_EQ(cio_queue_put(items, NULL, -1), 0);
    for (int i = 0; i < FD_TASKS; i++) {
        char c = (char)i;
        CHECK_EQ(cio_fd_write(pairs[i][1], &c, 1, -1), 1);
    }
    while (intact < TASKS)
        CHECK_EQ(cio_task_sleep(10), 0);
    for (int i = 0; i < FD_TASKS; i++) {
        cio_fd_close(pairs[i][0]);
        cio_fd_close(pairs[i][1]);
    }
    for (int i = 0; i < 2; i++) {
        cio_fd_close(poll_pair[i][0]);
        cio_fd_close(poll_pair[i][1]);
    }
    cio_queue_free(items);
    cio_event_free(wake_up);
    return NULL;
}

int main(void)
{
    cio_hub_opts_t opts = {.dump_on_sigquit = true};
    CHECK_EQ(cio_hub_run_ex(&opts, NULL, main_task, NULL), 0);
    CHECK_EQ(intact, TASKS);
    return 0;
}
