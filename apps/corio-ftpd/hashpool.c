/* HASH's own threads. Reading a whole file for a digest is bulk work: on the
 * file offload pool it would queue password checks and fsyncs behind it (a
 * login then waits for gigabytes to be read). The pool is shared by every
 * worker thread; jobs wait in a bounded queue, carry a stop flag that the
 * thread reads between 256 KiB reads, and report their end by closing the
 * write end of a pipe whose read end the session task polls together with
 * its control connection. The session task alone closes the read end (with
 * cio_fd_close: the hub forgets it), the thread alone the write end, so no fd
 * number is closed under the other's feet. */
#include "ftpd.h"
#include "hash.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#define IDLE_EXIT_S 10     /* a thread without work this long leaves */
#define QUEUE_PER_THREAD 4 /* jobs that may wait per thread allowed */

struct hash_job {
    struct hash_job *next; /* in the pool's queue */
    atomic_int refs;       /* the session task and the pool */
    atomic_bool stop;      /* the task gave up: stop reading */
    atomic_int rc;         /* 0 or -errno, set before wfd is closed */
    int fd;                /* the file */
    int wfd;               /* the pipe's write end, closed at the end */
    off_t size;            /* bytes to hash */
    char hex[65];          /* the digest */
};

static void job_put(struct hash_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    close(j->fd);
    if (j->wfd >= 0)
        close(j->wfd); /* never ran */
    free(j);
}

static void job_run(struct hash_job *j)
{
    int rc = -ECANCELED;
    if (!atomic_load(&j->stop))
        rc = hash_sha256_fd_until(j->fd, 0, j->size, j->hex, &j->stop);
    atomic_store(&j->rc, rc);
    close(j->wfd); /* the read end turns readable (end of file) */
    j->wfd = -1;
    job_put(j);
}

/* Threads stay once started (hash_threads of them at most; one leaves
 * after its job when a reload lowered that): an idle one costs a stack. */
static void *pool_thread(void *arg)
{
    struct ftpd_hashpool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        p->idle++;
        while (!p->head)
            pthread_cond_wait(&p->cv, &p->lock);
        p->idle--;
        struct hash_job *j = p->head;
        if (!(p->head = j->next))
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->lock);
        job_run(j);
        pthread_mutex_lock(&p->lock);
        bool surplus = p->threads > p->max; /* hash_threads was lowered */
        if (surplus)
            p->threads--;
        pthread_mutex_unlock(&p->lock);
        if (surplus)
            return NULL;
    }
}

/* A detached thread that takes none of the process's signals (the loop
 * takes them): the mask is inherited from the creating thread. */
static int start_thread(struct ftpd_hashpool *p)
{
    sigset_t all, old;
    pthread_t th;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = -pthread_create(&th, NULL, pool_thread, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc < 0)
        return rc;
    pthread_detach(th);
    p->threads++;
    return 0;
}

/* Queues j; -EAGAIN when the queue is full. Called with threads > 0. */
static int submit(struct ftpd_hashpool *p, struct hash_job *j, int threads)
{
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    p->max = threads;
    if (p->queued >= threads * QUEUE_PER_THREAD) {
        rc = -EAGAIN;
    } else if (p->queued >= p->idle && p->threads < threads) {
        rc = start_thread(p);
        if (rc < 0 && p->threads > 0)
            rc = 0; /* the threads there will get to it */
    }
    if (rc == 0) {
        if (p->tail)
            p->tail->next = j;
        else
            p->head = j;
        p->tail = j;
        p->queued++;
        pthread_cond_signal(&p->cv);
    }
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int hash_file(struct ftp_session *s, int fd, off_t size, char hex[65])
{
    const struct ftpd_config *cfg = s->srv->cfg;
    struct hash_job *j = calloc(1, sizeof(*j));
    if (!j) {
        close(fd);
        return -ENOMEM;
    }
    int p[2];
    j->fd = fd;
    j->size = size;
    j->wfd = -1;
    atomic_init(&j->refs, 2);
    int rc = pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0 ? -errno : 0;
    if (rc == 0) {
        j->wfd = p[1];
        rc = submit(&s->srv->shared->hashes, j, cfg->hash_threads);
    }
    if (rc < 0) {
        if (j->wfd >= 0)
            close(p[0]);
        atomic_store(&j->refs, 1);
        job_put(j);
        return rc;
    }
    rc = session_wait_fd(s, p[0], cio_deadline_in(cfg->hash_timeout_ms));
    cio_fd_close(p[0]);
    if (rc == 0 && (rc = atomic_load(&j->rc)) == 0)
        memcpy(hex, j->hex, sizeof(j->hex));
    else
        atomic_store(&j->stop, true);
    job_put(j);
    return rc;
}
