/* Process mode: the parent listens, then forks one process per slot; each
 * child re-initialises its signals and runs a thread group of its own (new
 * loops, hubs and offload pools: the parent runs none). A supervisor thread
 * in the parent takes SIGCHLD (and SIGINT/SIGTERM when asked), restarts a
 * child that dies, and on a stop sends SIGTERM to every child, then SIGKILL
 * to those still alive after the grace time. Listening sockets stay open in
 * the parent, so connections queue while a worker is being restarted. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "corio/workers.h"
#include "workers-int.h"

/* A child that dies sooner than this after its start counts as failing
 * fast: its restart is delayed, more each time, up to the maximum. */
#define FAST_DEATH_MS 1000
#define RESTART_DELAY_MS 100
#define RESTART_DELAY_MAX_MS 5000
/* The supervisor checks its children at least this often. */
#define SUPERVISE_TICK_MS 1000

static void on_sigchld(int sig)
{
    (void)sig; /* never runs while blocked; keeps SIGCHLD from being
                  discarded as ignored */
}

/* In the child: runs this slot's workers and exits. */
static void child_main(cio_workers_t *parent, unsigned slot)
{
    if (parent->chld_installed)
        sigaction(SIGCHLD, &parent->old_chld, NULL);
    pthread_sigmask(SIG_SETMASK, &parent->old_mask, NULL);
    cio_workers_opts_t opts = {.threads = parent->threads,
                               .catch_signals = true,
                               .stop_grace_ms = parent->grace_ms,
                               .pin_cpus = parent->pin_cpus,
                               .run = &parent->run};
    cio_workers_t *g;
    if (cio_workers_new(&g, &opts) < 0)
        _exit(1);
    g->index_base = slot * parent->threads;
    /* Keep this slot's sockets (or the shared one), close the others. */
    unsigned first = parent->nlisten > 1 ? slot * parent->threads : 0;
    unsigned mine = parent->nlisten > 1 ? parent->threads : parent->nlisten;
    if (mine) {
        g->listen_fds = malloc(mine * sizeof(int));
        if (!g->listen_fds)
            _exit(1);
    }
    for (unsigned i = 0; i < parent->nlisten; i++) {
        if (i >= first && i < first + mine)
            g->listen_fds[g->nlisten++] = parent->listen_fds[i];
        else
            close(parent->listen_fds[i]);
    }
    int rc = cio_workers_start(g, parent->fn, parent->arg);
    if (rc == 0)
        rc = cio_workers_wait(g);
    cio_workers_free(g);
    fflush(NULL);
    _exit(rc < 0 ? 1 : 0);
}

/* Forks the child of one slot. Called with mu held. */
static int fork_slot(cio_workers_t *g, unsigned slot)
{
    fflush(NULL); /* no buffered output gets written twice */
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0)
        child_main(g, slot);
    g->pids[slot] = pid;
    g->born_ms[slot] = cio__mono_ms();
    return 0;
}

/* Reaps dead children and schedules their restarts. Called with mu held. */
static bool reap(cio_workers_t *g, int64_t now)
{
    bool live = false;
    for (unsigned i = 0; i < g->processes; i++) {
        if (g->pids[i] <= 0)
            continue;
        int status;
        pid_t r = waitpid(g->pids[i], &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            live = true;
            continue;
        }
        g->pids[i] = 0;
        bool fast = now - g->born_ms[i] < FAST_DEATH_MS;
        g->fast_deaths[i] = fast ? g->fast_deaths[i] + 1 : 0;
        int64_t delay = 0;
        if (g->fast_deaths[i]) {
            delay = RESTART_DELAY_MS << (g->fast_deaths[i] - 1);
            if (g->fast_deaths[i] > 8 || delay > RESTART_DELAY_MAX_MS)
                delay = RESTART_DELAY_MAX_MS;
        }
        g->restart_ms[i] = now + delay;
    }
    return live;
}

/* Forks the children due for a restart; returns when the next one is due
 * (or now + SUPERVISE_TICK_MS). Called with mu held. */
static int64_t restart_due(cio_workers_t *g, int64_t now)
{
    int64_t next = now + SUPERVISE_TICK_MS;
    for (unsigned i = 0; i < g->processes; i++) {
        if (g->pids[i] != 0)
            continue;
        if (g->restart_ms[i] <= now) {
            if (fork_slot(g, i) == 0) {
                g->restarts++;
                continue;
            }
            g->restart_ms[i] = now + RESTART_DELAY_MAX_MS;
        }
        if (g->restart_ms[i] < next)
            next = g->restart_ms[i];
    }
    return next;
}

static void signal_children(cio_workers_t *g, int sig)
{
    for (unsigned i = 0; i < g->processes; i++)
        if (g->pids[i] > 0)
            kill(g->pids[i], sig);
}

/* The signals the supervisor takes with sigtimedwait: children's deaths,
 * and SIGINT/SIGTERM when the group catches them. */
static void supervised_signals(const cio_workers_t *g, sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    if (g->catch_signals) {
        sigaddset(set, SIGINT);
        sigaddset(set, SIGTERM);
    }
}

static void *supervisor(void *arg)
{
    cio_workers_t *g = arg;
    sigset_t set;
    supervised_signals(g, &set);
    int64_t kill_at = -1; /* when stragglers get SIGKILL */
    int64_t next = cio__mono_ms();
    for (;;) {
        int64_t wait_ms = next - cio__mono_ms();
        if (wait_ms < 0)
            wait_ms = 0;
        struct timespec ts = {.tv_sec = wait_ms / 1000,
                              .tv_nsec = (wait_ms % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            int none = 0;
            atomic_compare_exchange_strong(&g->stop_signal, &none, sig);
            atomic_store(&g->stopping, true);
        }
        int64_t now = cio__mono_ms();
        pthread_mutex_lock(&g->mu);
        bool live = reap(g, now);
        if (!atomic_load(&g->stopping)) {
            next = restart_due(g, now);
            pthread_mutex_unlock(&g->mu);
            continue;
        }
        if (kill_at < 0) {
            cio__listeners_close(g); /* no restart after a stop */
            signal_children(g, SIGTERM);
            kill_at = now + g->grace_ms + 2000;
        } else if (now >= kill_at) {
            signal_children(g, SIGKILL);
        }
        if (!live) {
            g->done = true;
            pthread_cond_broadcast(&g->cond);
            pthread_mutex_unlock(&g->mu);
            return NULL;
        }
        pthread_mutex_unlock(&g->mu);
        next = now >= kill_at ? now + 100 : kill_at;
        if (next > now + SUPERVISE_TICK_MS)
            next = now + SUPERVISE_TICK_MS;
    }
}

int cio__proc_start(cio_workers_t *g)
{
    unsigned n = g->processes;
    g->pids = calloc(n, sizeof(*g->pids));
    g->born_ms = calloc(n, sizeof(*g->born_ms));
    g->restart_ms = calloc(n, sizeof(*g->restart_ms));
    g->fast_deaths = calloc(n, sizeof(*g->fast_deaths));
    if (!g->pids || !g->born_ms || !g->restart_ms || !g->fast_deaths)
        return -ENOMEM;
    sigset_t set;
    supervised_signals(g, &set);
    /* Blocked before the first fork, so no death goes unseen. */
    int r = pthread_sigmask(SIG_BLOCK, &set, &g->old_mask);
    if (r != 0)
        return -r;
    g->mask_changed = true;
    struct sigaction sa = {.sa_handler = on_sigchld,
                           .sa_flags = SA_RESTART | SA_NOCLDSTOP};
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGCHLD, &sa, &g->old_chld) == 0)
        g->chld_installed = true;
    pthread_mutex_lock(&g->mu);
    for (unsigned i = 0; i < n && r == 0; i++)
        r = fork_slot(g, i);
    pthread_mutex_unlock(&g->mu);
    if (r == 0) {
        r = -pthread_create(&g->sig_thread, NULL, supervisor, g);
        g->sig_started = r == 0;
    }
    if (r < 0) {
        pthread_mutex_lock(&g->mu);
        signal_children(g, SIGKILL);
        for (unsigned i = 0; i < n; i++)
            if (g->pids[i] > 0)
                waitpid(g->pids[i], NULL, 0);
        pthread_mutex_unlock(&g->mu);
    }
    return r;
}

void cio__proc_stop(cio_workers_t *g)
{
    /* The supervisor sees `stopping` once woken by a signal of its set,
     * aimed at it alone. */
    if (g->sig_started)
        pthread_kill(g->sig_thread, SIGCHLD);
}

int cio__proc_wait(cio_workers_t *g)
{
    pthread_mutex_lock(&g->mu);
    while (!g->done)
        pthread_cond_wait(&g->cond, &g->mu);
    pthread_mutex_unlock(&g->mu);
    pthread_join(g->sig_thread, NULL);
    g->sig_started = false;
    return 0;
}

int cio_workers_pid(cio_workers_t *g, pid_t *pid, unsigned proc)
{
    if (!pid || !g->processes || proc >= g->processes || !g->pids)
        return -EINVAL;
    pthread_mutex_lock(&g->mu);
    *pid = g->pids[proc];
    pthread_mutex_unlock(&g->mu);
    return 0;
}

unsigned cio_workers_restarts(cio_workers_t *g)
{
    pthread_mutex_lock(&g->mu);
    unsigned n = g->restarts;
    pthread_mutex_unlock(&g->mu);
    return n;
}
