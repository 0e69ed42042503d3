/* getaddrinfo for tasks: the real call runs on corio's DNS offload pool
 * while only the calling task waits, and its exact result (EAI_* code,
 * list) comes back. A killed task stops waiting at once; the lookup still
 * runs to its end on the pool thread, which then frees what it made:
 * the job is shared by two owners and the last one out frees it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corio/hub.h"
#include "corio/offload.h"
#include "hook.h"

struct gai_job {
    int owners; /* task and pool thread, atomic; last frees */
    char *node; /* copies: the task's strings may go away */
    char *service;
    struct addrinfo hints; /* flags, family, socktype, protocol */
    bool has_hints;        /* hints was not NULL */
    struct addrinfo *res;  /* the result list */
    int rc;                /* getaddrinfo's return value */
    int err;               /* errno after it, for EAI_SYSTEM */
};

static void job_release(struct gai_job *job)
{
    if (__atomic_sub_fetch(&job->owners, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (job->res != NULL)
        freeaddrinfo(job->res);
    free(job->node);
    free(job->service);
    free(job);
}

static long gai_run(void *arg)
{
    struct gai_job *job = arg;
    job->res = NULL;
    job->rc =
        CIO__REAL(getaddrinfo)(job->node, job->service,
                               job->has_hints ? &job->hints : NULL, &job->res);
    job->err = errno;
    job_release(job);
    return 0;
}

/* Lookups that never touch the network or a file run in place. */
static bool numeric_only(const char *node, const char *service,
                         const struct addrinfo *hints)
{
    if (hints == NULL || !(hints->ai_flags & AI_NUMERICHOST) || node == NULL)
        return false;
    return service == NULL || (hints->ai_flags & AI_NUMERICSERV);
}

static struct gai_job *job_new(const char *node, const char *service,
                               const struct addrinfo *hints)
{
    struct gai_job *job = calloc(1, sizeof(*job));
    if (job == NULL)
        return NULL;
    job->owners = 2;
    job->node = node ? strdup(node) : NULL;
    job->service = service ? strdup(service) : NULL;
    if ((node && !job->node) || (service && !job->service)) {
        free(job->node);
        free(job->service);
        free(job);
        return NULL;
    }
    if (hints != NULL) {
        job->has_hints = true;
        job->hints.ai_flags = hints->ai_flags;
        job->hints.ai_family = hints->ai_family;
        job->hints.ai_socktype = hints->ai_socktype;
        job->hints.ai_protocol = hints->ai_protocol;
    }
    return job;
}

int getaddrinfo(const char *node, const char *service,
                const struct addrinfo *hints, struct addrinfo **res)
{
    if (!cio__hook_active() || numeric_only(node, service, hints))
        return CIO__REAL(getaddrinfo)(node, service, hints, res);
    if (cio_task_cancelled()) {
        errno = ECANCELED;
        return EAI_SYSTEM;
    }
    struct gai_job *job = job_new(node, service, hints);
    if (job == NULL)
        return EAI_MEMORY;
    int rc = cio_offload_run(NULL, CIO_OFFLOAD_DNS, gai_run, job, -1);
    if (rc == -ENOMEM || rc == -EAGAIN || rc == -ENOSYS) {
        /* No pool thread to be had: block this thread as before. */
        job->owners = 1;
        job_release(job);
        return CIO__REAL(getaddrinfo)(node, service, hints, res);
    }
    if (rc < 0) {
        job_release(job); /* the pool thread frees it when done */
        errno = -rc;
        return EAI_SYSTEM;
    }
    int result = job->rc;
    *res = job->res;
    job->res = NULL;
    if (result == EAI_SYSTEM)
        errno = job->err;
    job_release(job);
    return result;
}
