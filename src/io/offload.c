/* Offload pools: threads that run blocking functions while only the calling
 * task waits. Two pools (files, DNS) so a slow resolver cannot hold up file
 * work or the other way round. Threads start lazily, take jobs from a
 * mutex+condvar queue, and post each completion back to the waiting task's
 * loop with cio_loop_post; they leave after a while without work.
 *
 * A task that stops waiting (deadline, kill) abandons its job: the job still
 * runs, and its completion frees it (and what it produced, via drop). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/error.h"
#include "corio/offload.h"
#include "io/uring_hub.h"

#define IDLE_EXIT_S 10 /* a thread without work this long leaves */

struct cio__job {
    struct cio__job *next;           /* in the pool's queue */
    long (*fn)(void *arg);           /* the blocking work */
    void *arg;                       /* its argument */
    void (*drop)(void *arg, long r); /* frees arg and fn's result if unused */
    long result;                     /* fn's return value */
    struct cio__hub *hub;            /* hub of the waiting task */
    cio_task_t *task;                /* the waiting task */
    bool done;                       /* completion arrived (hub thread) */
    bool abandoned;                  /* the task stopped waiting (hub thread) */
};

struct cio__opool {
    pthread_mutex_t mu;    /* guards everything below */
    pthread_cond_t cv;     /* signalled when a job arrives */
    struct cio__job *head; /* queued jobs, FIFO */
    struct cio__job *tail;
    unsigned threads; /* threads alive */
    unsigned idle;    /* threads waiting for a job */
    unsigned max;     /* thread limit */
};

static struct cio__opool pools[2] = {
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 4},
    {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 4},
};
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In a forked child the pool threads do not exist: start over. Queued jobs
 * belong to the parent's hubs and are forgotten. */
static void atfork_child(void)
{
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&pools[i].mu, NULL);
        pthread_cond_init(&pools[i].cv, NULL);
        pools[i].head = pools[i].tail = NULL;
        pools[i].threads = pools[i].idle = 0;
    }
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void cio_offload_set_threads(cio_offload_kind_t kind, unsigned threads)
{
    struct cio__opool *p = &pools[kind == CIO_OFFLOAD_DNS];
    pthread_mutex_lock(&p->mu);
    p->max = threads ? threads : 1;
    pthread_mutex_unlock(&p->mu);
}

/* Runs on the hub's thread, posted by the worker. */
static void job_complete(cio_loop_t *loop, void *data)
{
    struct cio__job *job = data;
    (void)loop;
    cio__hub_inflight(job->hub, -1);
    job->done = true;
    if (job->abandoned) {
        if (job->drop)
            job->drop(job->arg, job->result);
        free(job);
        return;
    }
    cio__wake(job->task, 0);
}

static void *worker(void *arg)
{
    struct cio__opool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += IDLE_EXIT_S;
            p->idle++;
            int rc = pthread_cond_timedwait(&p->cv, &p->mu, &until);
            p->idle--;
            if (rc == ETIMEDOUT && !p->head) {
                p->threads--;
                pthread_mutex_unlock(&p->mu);
                return NULL;
            }
        }
        struct cio__job *job = p->head;
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->mu);
        job->result = job->fn(job->arg);
        while (cio_loop_post(cio__run(job->hub)->loop, job_complete, job) < 0)
            usleep(1000); /* out of memory: the waiter must hear back */
        pthread_mutex_lock(&p->mu);
    }
}

static int submit(struct cio__opool *p, struct cio__job *job)
{
    pthread_once(&atfork_once, atfork_register);
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    if (p->idle == 0 && p->threads < p->max) {
        /* Workers must not take the loop's signals. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t th;
        rc = -pthread_create(&th, &attr, worker, p);
        pthread_attr_destroy(&attr);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0)
            p->threads++;
        else if (p->threads > 0)
            rc = 0; /* the running ones will get to it */
    }
    if (rc == 0) {
        job->next = NULL;
        if (p->tail)
            p->tail->next = job;
        else
            p->head = job;
        p->tail = job;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Runs fn(arg) on a pool. When the caller does not take the result (it
 * returns an error), drop(arg, result) frees what the job owns, now or when
 * the job completes. Outside a task fn runs inline. */
static int offload_run(cio_offload_kind_t kind, long (*fn)(void *), void *arg,
                       void (*drop)(void *, long), long *result,
                       int64_t deadline_ms)
{
    cio_task_t *t;
    int rc = cio__enter(&t);
    if (rc == -EPERM) {
        long r = fn(arg);
        if (result)
            *result = r;
        return 0;
    }
    if (rc == 0 && cio__expired(t->hub, deadline_ms))
        rc = -ETIMEDOUT;
    struct cio__job *job = rc < 0 ? NULL : calloc(1, sizeof *job);
    if (!job) {
        rc = rc < 0 ? rc : -ENOMEM;
        if (drop) /* never queued: what the job owns goes now */
            drop(arg, rc);
        return rc;
    }
    job->fn = fn;
    job->arg = arg;
    job->drop = drop;
    job->hub = t->hub;
    job->task = t;
    cio__hub_inflight(t->hub, +1);
    rc = submit(&pools[kind == CIO_OFFLOAD_DNS], job);
    if (rc < 0) {
        cio__hub_inflight(t->hub, -1);
        free(job);
        if (drop)
            drop(arg, rc);
        return rc;
    }
    /* arg may live on the task's stack and the job uses it from its
     * thread: the stack must not be shrunk meanwhile. */
    t->keep_stack = true;
    cio__task_pin_stack(t, true);
    /* Only job_complete wakes this wait with 0, once the job is done; the
     * loop makes that the only way to a 0 here, so a 0 always comes with
     * the result. */
    do
        rc = cio__block(t, deadline_ms,
                        kind == CIO_OFFLOAD_DNS ? "dns" : "file", 0);
    while (rc == 0 && !job->done);
    cio__task_pin_stack(t, false);
    t->keep_stack = false;
    if (rc == 0) {
        if (result)
            *result = job->result;
        free(job);
        return 0;
    }
    if (!job->done) {
        job->abandoned = true; /* job_complete frees it */
        return rc;
    }
    /* Done, though a timeout, a kill or an interrupt came first. */
    if (drop)
        drop(arg, job->result);
    free(job);
    return rc;
}

/* offload_run for the file calls of file.c. */
int cio__offload_run(int kind, long (*fn)(void *), void *arg,
                     void (*drop)(void *, long), long *result,
                     int64_t deadline_ms);
int cio__offload_run(int kind, long (*fn)(void *), void *arg,
                     void (*drop)(void *, long), long *result,
                     int64_t deadline_ms)
{
    return offload_run((cio_offload_kind_t)kind, fn, arg, drop, result,
                       deadline_ms);
}

int cio_offload_run(long *result, cio_offload_kind_t kind,
                    long (*fn)(void *arg), void *arg, int64_t deadline_ms)
{
    if (!fn)
        return -EINVAL;
    return offload_run(kind, fn, arg, NULL, result, deadline_ms);
}

/* ---- name lookups ---- */

struct gai_job {
    char *node; /* copies, so an abandoned job stays valid */
    char *service;
    struct addrinfo hints;
    bool has_hints;
    struct addrinfo *res; /* the answer */
    int err;              /* errno of EAI_SYSTEM */
};

static long gai_fn(void *arg)
{
    struct gai_job *g = arg;
    int rc = getaddrinfo(g->node, g->service, g->has_hints ? &g->hints : NULL,
                         &g->res);
    if (rc == EAI_SYSTEM)
        g->err = errno;
    return rc;
}

static void gai_free(struct gai_job *g)
{
    free(g->node);
    free(g->service);
    free(g);
}

static void gai_drop(void *arg, long rc)
{
    struct gai_job *g = arg;
    if (rc == 0 && g->res)
        freeaddrinfo(g->res);
    gai_free(g);
}

/* Numeric hosts and services need no resolver: answer inline. */
static bool is_numeric(const char *node, const char *service)
{
    unsigned char buf[sizeof(struct in6_addr)];
    if (service) {
        if (!*service)
            return false;
        for (const char *s = service; *s; s++)
            if (*s < '0' || *s > '9')
                return false;
    }
    if (!node)
        return true;
    return inet_pton(AF_INET, node, buf) == 1 ||
           inet_pton(AF_INET6, node, buf) == 1;
}

int cio_dns_getaddrinfo(const char *node, const char *service,
                        const struct addrinfo *hints, struct addrinfo **res,
                        int64_t deadline_ms)
{
    if (!res || (!node && !service))
        return -EINVAL;
    *res = NULL;
    if (is_numeric(node, service)) {
        struct addrinfo h = {0};
        if (hints)
            h = *hints;
        h.ai_flags |= AI_NUMERICHOST | (service ? AI_NUMERICSERV : 0);
        int rc = getaddrinfo(node, service, &h, res);
        return cio__gai_errno(rc, rc == EAI_SYSTEM ? errno : 0);
    }
    struct gai_job *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->node = node ? strdup(node) : NULL;
    g->service = service ? strdup(service) : NULL;
    if ((node && !g->node) || (service && !g->service)) {
        gai_free(g);
        return -ENOMEM;
    }
    if (hints) {
        g->hints = *hints;
        g->hints.ai_addr = NULL;
        g->hints.ai_canonname = NULL;
        g->hints.ai_next = NULL;
        g->has_hints = true;
    }
    long r = 0;
    int rc = offload_run(CIO_OFFLOAD_DNS, gai_fn, g, gai_drop, &r, deadline_ms);
    if (rc < 0) /* abandoned: gai_drop frees it later (or already did) */
        return rc;
    rc = cio__gai_errno(r, g->err);
    if (rc == 0)
        *res = g->res;
    gai_free(g);
    return rc;
}

/* ---- file calls ---- */

struct file_job {
    char *path;     /* a copy: the job may outlive the caller's wait */
    int flags;      /* open flags */
    mode_t mode;    /* open mode */
    int fd;         /* fsync target */
    struct stat st; /* stat result */
};

static long open_fn(void *arg)
{
    struct file_job *j = arg;
    int fd = open(j->path, j->flags | O_CLOEXEC, j->mode);
    return fd < 0 ? -errno : fd;
}

static long stat_fn(void *arg)
{
    struct file_job *j = arg;
    return stat(j->path, &j->st) < 0 ? -errno : 0;
}

static long fsync_fn(void *arg)
{
    struct file_job *j = arg;
    return fsync(j->fd) < 0 ? -errno : 0;
}

static void file_drop(void *arg, long r)
{
    struct file_job *j = arg;
    (void)r;
    free(j->path);
    free(j);
}

static void open_drop(void *arg, long r)
{
    if (r >= 0) /* opened for a caller that left: do not leak it */
        close((int)r);
    file_drop(arg, r);
}

/* 0 with fn's result in *r, or an error: the job is dropped then. */
static int file_call(long (*fn)(void *), void (*drop)(void *, long),
                     struct file_job *j, long *r, int64_t deadline_ms)
{
    return offload_run(CIO_OFFLOAD_FILE, fn, j, drop, r, deadline_ms);
}

int cio_file_open(const char *path, int flags, mode_t mode, int64_t deadline_ms)
{
    if (!path)
        return -EINVAL;
#ifdef CIO_HAVE_URING
    int ring = cio__uring_openat(path, flags, mode);
    if (ring != -ENOSYS)
        return ring;
#endif
    struct file_job *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return -ENOMEM;
    }
    j->flags = flags;
    j->mode = mode;
    long r;
    int rc = file_call(open_fn, open_drop, j, &r, deadline_ms);
    if (rc != 0)
        return rc;
    file_drop(j, r);
    return (int)r;
}

int cio_file_stat(const char *path, struct stat *st, int64_t deadline_ms)
{
    if (!path || !st)
        return -EINVAL;
#ifdef CIO_HAVE_URING
    int ring = cio__uring_stat(path, st);
    if (ring != -ENOSYS)
        return ring;
#endif
    struct file_job *j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(path))) {
        free(j);
        return -ENOMEM;
    }
    long r;
    int rc = file_call(stat_fn, file_drop, j, &r, deadline_ms);
    if (rc != 0)
        return rc;
    if (r == 0)
        *st = j->st;
    file_drop(j, r);
    return (int)r;
}

int cio_file_fsync(int fd, int64_t deadline_ms)
{
#ifdef CIO_HAVE_URING
    int ring = cio__uring_fsync(fd);
    if (ring != -ENOSYS)
        return ring;
#endif
    struct file_job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->fd = fd;
    long r;
    int rc = file_call(fsync_fn, file_drop, j, &r, deadline_ms);
    if (rc != 0)
        return rc;
    file_drop(j, r);
    return (int)r;
}
