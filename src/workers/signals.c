/* SIGINT/SIGTERM for a thread group: blocked in the starting thread before
 * the workers are created (they inherit the mask), and taken by one thread
 * with sigwait, which stops the group; the stop reaches every worker
 * through cio_loop_post. No handler runs, so nothing here needs to be
 * async-signal-safe. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "corio/workers.h"
#include "workers-int.h"

static void stop_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

static void *signal_thread(void *arg)
{
    cio_workers_t *g = arg;
    sigset_t set;
    stop_set(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&g->sig_quit))
            break;
        int none = 0;
        atomic_compare_exchange_strong(&g->stop_signal, &none, sig);
        cio_workers_stop(g);
    }
    return NULL;
}

int cio__signals_start(cio_workers_t *g)
{
    if (!g->catch_signals)
        return 0;
    sigset_t set;
    stop_set(&set);
    int r = pthread_sigmask(SIG_BLOCK, &set, &g->old_mask);
    if (r != 0)
        return -r;
    g->mask_changed = true;
    r = pthread_create(&g->sig_thread, NULL, signal_thread, g);
    if (r != 0)
        return -r;
    g->sig_started = true;
    return 0;
}

void cio__signals_end(cio_workers_t *g)
{
    if (!g->sig_started)
        return;
    atomic_store(&g->sig_quit, true);
    /* A signal aimed at that thread alone: it is blocked there, so sigwait
     * takes it, and no other thread sees it. */
    pthread_kill(g->sig_thread, SIGTERM);
    pthread_join(g->sig_thread, NULL);
    g->sig_started = false;
}

void cio__signals_restore(cio_workers_t *g)
{
    if (g->chld_installed && pthread_equal(g->starter, pthread_self())) {
        sigaction(SIGCHLD, &g->old_chld, NULL);
        g->chld_installed = false;
    }
    if (!g->mask_changed || !pthread_equal(g->starter, pthread_self()))
        return;
    pthread_sigmask(SIG_SETMASK, &g->old_mask, NULL);
    g->mask_changed = false;
}
