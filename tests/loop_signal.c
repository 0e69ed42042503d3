/* Signals as loop callbacks: delivery, several signals, stop and the
 * restored mask, stopping a running loop from SIGTERM.
 * CIO_TEST_ALL_BACKENDS */
#include <corio/loop.h>
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "check.h"

static int got[NSIG];

static void on_signal(cio_loop_t *loop, int signum, void *data)
{
    got[signum]++;
    if (signum == SIGTERM)
        cio_loop_stop(loop);
}

static int blocked(int signum)
{
    sigset_t set;
    pthread_sigmask(SIG_BLOCK, NULL, &set);
    return sigismember(&set, signum);
}

static void keep_running(cio_timer_t *t)
{
}

int main(void)
{
    cio_loop_t *loop;
    CHECK_EQ(cio_loop_new(&loop, NULL), 0);
    CHECK_EQ(cio_loop_signal(loop, 0, on_signal, NULL), -EINVAL);
    CHECK_EQ(cio_loop_signal(loop, SIGKILL, on_signal, NULL), -EINVAL);
    CHECK_EQ(cio_loop_signal_stop(loop, SIGUSR1), -ENOENT);
    CHECK(!blocked(SIGUSR1));
    CHECK_EQ(cio_loop_signal(loop, SIGUSR1, on_signal, NULL), 0);
    CHECK_EQ(cio_loop_signal(loop, SIGUSR2, on_signal, NULL), 0);
    CHECK_EQ(cio_loop_signal(loop, SIGTERM, on_signal, NULL), 0);
    CHECK(blocked(SIGUSR1));
    /* A signal watch alone does not keep the loop alive. */
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);

    CHECK_EQ(kill(getpid(), SIGUSR1), 0);
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    cio_timer_t *t;
    CHECK_EQ(cio_timer_new(&t, loop, keep_running, NULL), 0);
    CHECK_EQ(cio_timer_start(t, 2000, 0), 0);
    while (got[SIGUSR1] == 0 || got[SIGUSR2] == 0)
        CHECK_EQ(cio_loop_run(loop, CIO_RUN_ONCE), 1);
    CHECK_EQ(got[SIGUSR1], 1);
    CHECK_EQ(got[SIGUSR2], 1);

    /* SIGTERM stops a loop that still has a timer to wait for. */
    CHECK_EQ(kill(getpid(), SIGTERM), 0);
    CHECK_EQ(cio_loop_run(loop, CIO_RUN_DEFAULT), 0);
    CHECK_EQ(got[SIGTERM], 1);
    CHECK(cio_timer_active(t));
    cio_timer_free(t);

    /* Stop restores the mask; a pending instance is dropped, not fatal. */
    CHECK_EQ(kill(getpid(), SIGUSR2), 0);
    CHECK_EQ(cio_loop_signal_stop(loop, SIGUSR2), 0);
    CHECK(!blocked(SIGUSR2));
    CHECK_EQ(cio_loop_signal_stop(loop, SIGUSR2), -ENOENT);
    CHECK(blocked(SIGUSR1));

    /* A signal blocked before the watch stays blocked after it. */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &one, NULL);
    CHECK_EQ(cio_loop_signal(loop, SIGHUP, on_signal, NULL), 0);
    CHECK_EQ(cio_loop_signal_stop(loop, SIGHUP), 0);
    CHECK(blocked(SIGHUP));

    cio_loop_free(loop); /* releases SIGUSR1 and SIGTERM */
    CHECK(!blocked(SIGUSR1));
    CHECK(!blocked(SIGTERM));
    printf("ok\n");
    return 0;
}
