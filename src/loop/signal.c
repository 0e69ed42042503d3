/* Signals as loop callbacks through one signalfd per loop. The watched
 * signals are blocked in the calling thread (signalfd only sees blocked
 * signals); the mask each one had before is restored when it is released. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "loop/loop-int.h"

/* The signalfd's callback: one callback per queued signal. */
static void signals_read(cio_loop_t *loop, int fd, int events, void *data)
{
    struct signalfd_siginfo info[16];
    for (;;) {
        ssize_t n = read(fd, info, sizeof(info));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        size_t count = (size_t)n / sizeof(info[0]);
        for (size_t i = 0; i < count; i++) {
            int signum = (int)info[i].ssi_signo;
            if (signum <= 0 || signum >= NSIG || loop->signals == NULL)
                continue;
            cio__signal_watch_t *w = &loop->signals[signum];
            if (w->cb != NULL)
                w->cb(loop, signum, w->data);
            if (loop->signal_fd != fd)
                return; /* a callback released the last watch */
        }
        if (count < sizeof(info) / sizeof(info[0]))
            return;
    }
}

int cio_loop_signal(cio_loop_t *loop, int signum, cio_signal_cb cb, void *data)
{
    if (signum <= 0 || signum >= NSIG || cb == NULL || signum == SIGKILL ||
        signum == SIGSTOP)
        return -EINVAL;
    if (loop->signals == NULL) {
        loop->signals = calloc(NSIG, sizeof(*loop->signals));
        if (loop->signals == NULL)
            return -ENOMEM;
    }
    if (sigismember(&loop->signal_set, signum)) {
        loop->signals[signum].cb = cb; /* re-watching replaces the callback */
        loop->signals[signum].data = data;
        return 0;
    }
    sigset_t one, old;
    sigemptyset(&one);
    sigaddset(&one, signum);
    int rc = pthread_sigmask(SIG_BLOCK, &one, &old);
    if (rc != 0)
        return -rc;
    sigset_t set = loop->signal_set;
    sigaddset(&set, signum);
    int fd = signalfd(loop->signal_fd, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        if (!sigismember(&old, signum))
            pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        return rc;
    }
    if (loop->signal_fd < 0) {
        rc = cio__loop_register_internal(loop, fd, signals_read, NULL);
        if (rc < 0) {
            close(fd);
            if (!sigismember(&old, signum))
                pthread_sigmask(SIG_UNBLOCK, &one, NULL);
            return rc;
        }
        loop->signal_fd = fd;
    }
    loop->signal_set = set;
    if (sigismember(&old, signum))
        sigaddset(&loop->signal_was_blocked, signum);
    loop->signals[signum].cb = cb;
    loop->signals[signum].data = data;
    return 0;
}

/* Consumes a pending instance of signum so unblocking it cannot run its
 * default action (often: terminate) after the user asked to stop it. */
static void drain_pending(int signum)
{
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, signum);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&one, NULL, &zero) == signum)
        ;
}

int cio_loop_signal_stop(cio_loop_t *loop, int signum)
{
    if (signum <= 0 || signum >= NSIG ||
        !sigismember(&loop->signal_set, signum))
        return -ENOENT;
    sigdelset(&loop->signal_set, signum);
    loop->signals[signum].cb = NULL;
    loop->signals[signum].data = NULL;
    if (sigisemptyset(&loop->signal_set)) {
        cio_loop_unregister(loop, loop->signal_fd);
        close(loop->signal_fd);
        loop->signal_fd = -1;
    } else {
        signalfd(loop->signal_fd, &loop->signal_set, 0);
    }
    if (!sigismember(&loop->signal_was_blocked, signum)) {
        drain_pending(signum);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, signum);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
    }
    sigdelset(&loop->signal_was_blocked, signum);
    return 0;
}

void cio__signals_free(cio_loop_t *loop)
{
    for (int signum = 1; signum < NSIG && loop->signal_fd >= 0; signum++)
        if (sigismember(&loop->signal_set, signum))
            cio_loop_signal_stop(loop, signum);
    free(loop->signals);
    loop->signals = NULL;
}
