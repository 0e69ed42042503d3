/* When every task waits and nothing can wake one, cio_hub_run returns -EDEADLK
 * and prints a report naming the tasks and what they wait on, instead of
 * hanging; waits that something can still end are not deadlocks.
 * CIO_TEST_ALL_BACKENDS */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "corio.h"

static cio_queue_t *q;

static void *getter(void *arg)
{
    (void)arg;
    void *item;
    cio_queue_get(q, &item, -1);
    return NULL;
}

static void *stuck_main(void *arg)
{
    (void)arg;
    CHECK_EQ(cio_queue_new(&q, 0), 0);
    cio_task_t *t;
    CHECK_EQ(cio_task_spawn(&t, getter, NULL), 0);
    cio_task_set_name(t, "getter");
    int sp[2];
    CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
    char c;
    /* a read that returns when its peer is closed: not a deadlock yet */
    CHECK_EQ(cio_fd_read(sp[0], &c, 1, cio_deadline_in(20)), -ETIMEDOUT);
    close(sp[0]);
    close(sp[1]);
    cio_task_join(t, -1); /* never returns */
    return NULL;
}

static long slow(void *arg)
{
    (void)arg;
    usleep(100 * 1000);
    return 3;
}

static cio_event_t *ev;

static void *setter(void *arg)
{
    (void)arg;
    cio_task_sleep(50);
    cio_event_set(ev);
    return NULL;
}

static void *busy_main(void *arg)
{
    (void)arg;
    /* waiting on an offload job with nothing else in the loop is fine */
    long r = 0;
    CHECK_EQ(cio_offload_run(&r, CIO_OFFLOAD_FILE, slow, NULL, -1), 0);
    CHECK_EQ(r, 3);
    /* so is waiting on an event a sleeping task will set */
    CHECK_EQ(cio_event_new(&ev), 0);
    CHECK_EQ(cio_task_spawn(NULL, setter, NULL), 0);
    CHECK_EQ(cio_event_wait(ev, -1), 0);
    cio_event_free(ev);
    return (void *)1;
}

/* A task waiting for a signal: without cio_hub_ref that is a deadlock
 * (a signal watch keeps nothing alive); with it the hub waits. */
static cio_event_t *got_signal;

static void on_usr1(cio_loop_t *loop, int signum, void *data)
{
    (void)loop, (void)signum, (void)data;
    cio_event_set(got_signal);
}

static void *send_usr1(void *arg)
{
    (void)arg;
    usleep(50 * 1000);
    kill(getpid(), SIGUSR1);
    return NULL;
}

static void *signal_main(void *arg)
{
    bool ref = arg != NULL;
    CHECK_EQ(cio_event_new(&got_signal), 0);
    CHECK_EQ(cio_loop_signal(cio_hub_loop(), SIGUSR1, on_usr1, NULL), 0);
    pthread_t th; /* created after the watch: SIGUSR1 is blocked in it */
    CHECK_EQ(pthread_create(&th, NULL, send_usr1, NULL), 0);
    pthread_detach(th);
    if (ref)
        cio_hub_ref();
    int rc = cio_event_wait(got_signal, -1);
    if (ref)
        cio_hub_unref();
    cio_loop_signal_stop(cio_hub_loop(), SIGUSR1);
    cio_event_free(got_signal);
    return (void *)(intptr_t)rc;
}

int main(void)
{
    char path[] = "/tmp/cio_deadlock_XXXXXX";
    const char *dir = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/cio_deadlock_XXXXXX", dir ? dir : "/tmp");
    (void)path;
    int fd = mkstemp(tmpl);
    CHECK(fd >= 0);
    unlink(tmpl);
    int saved = dup(2);
    CHECK(dup2(fd, 2) == 2);
    int rc = cio_hub_run(NULL, stuck_main, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK_EQ(rc, -EDEADLK);
    char report[4096] = {0};
    CHECK(pread(fd, report, sizeof report - 1, 0) > 0);
    close(fd);
    fputs(report, stderr);
    CHECK(strstr(report, "deadlock") != NULL);
    CHECK(strstr(report, "getter") != NULL);
    CHECK(strstr(report, "queue get") != NULL);
    CHECK(strstr(report, "main") != NULL);
    CHECK(strstr(report, "join") != NULL);
    CHECK_EQ(cio_hub_task_count(), 0);

    void *result = NULL;
    CHECK_EQ(cio_hub_run(&result, busy_main, NULL), 0);
    CHECK_EQ((intptr_t)result, 1);
    cio_queue_free(q);

    CHECK_EQ(cio_hub_run(&result, signal_main, (void *)1), 0);
    CHECK_EQ((intptr_t)result, 0);
    return 0;
}
