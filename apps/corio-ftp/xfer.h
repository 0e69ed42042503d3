/* Transfers: one file down (to a temporary name, renamed at the end) or up,
 * and an engine that runs queued transfers N at a time, each worker task on
 * its own control connection. */
#ifndef CORIO_FTP_XFER_H
#define CORIO_FTP_XFER_H

#include <corio.h>
#include <corio/tls.h>
#include <stdbool.h>
#include <stdint.h>

#include "progress.h"
#include "proto.h"
#include "url.h"

/* The command line's choices that transfers obey. */
typedef struct ftp_opts {
    int jobs;           /* -j: transfers at once */
    bool resume;        /* -c: continue partial files */
    bool active;        /* --active: PORT/EPRT */
    bool quiet;         /* -q: no progress */
    bool verbose;       /* -v: show the control dialogue */
    int64_t timeout_ms; /* --timeout for each network wait, -1 none */
    bool tls;           /* --tls: AUTH TLS on ftp:// sites too */
    const char *cafile; /* --cafile: trusted CAs, NULL = system store */
    bool insecure;      /* --insecure: no certificate verification */
    /* made from the three above when needed (main.c) */
    cio_tls_ctx_t *tls_ctx;
} ftp_opts;

/* The TLS mode for site under o (FTP_TLS_* of ftps.h). */
int xfer_tls_mode(const ftp_site *site, const ftp_opts *o);

typedef enum { XFER_GET, XFER_PUT } xfer_kind;

/* One file to move. */
typedef struct xfer_job {
    xfer_kind kind;       /* direction */
    const ftp_site *site; /* server and login (outlives the job) */
    char *remote;         /* path on the server (malloc'd) */
    char *local;          /* local path (malloc'd) */
    int64_t size;         /* bytes if known from a listing, else -1 */
    int64_t mtime;        /* remote mtime to give the local copy, or -1 */
} xfer_job;

/* Makes a job (copies the strings); NULL when out of memory. */
xfer_job *xfer_job_new(xfer_kind kind, const ftp_site *site, const char *remote,
                       const char *local, int64_t size, int64_t mtime);
void xfer_job_free(xfer_job *job);

/* Connects c to site and logs in, binary mode. On failure err gets a line
 * like "ftp://user@host/: 530 Login incorrect." and returns -errno. */
int xfer_connect(ftp_conn *c, const ftp_site *site, const ftp_opts *o,
                 char *err, size_t errlen);

/* Runs one job on an open connection. Returns 0 or -errno with a line in
 * err (the server's reply when it said no). A download never leaves a
 * partial file under job->local unless o->resume. */
int xfer_run(ftp_conn *c, const xfer_job *job, const ftp_opts *o,
             progress_t *pg, char *err, size_t errlen);

/* N worker tasks fed from a queue. */
typedef struct xfer_engine {
    const ftp_opts *opts; /* options for every job */
    progress_t *progress; /* where transfers show */
    cio_queue_t *queue;   /* xfer_job * waiting for a worker */
    cio_pool_t *pool;     /* the workers, at most opts->jobs */
    int workers;          /* workers started */
    int failed;           /* jobs that failed */
    int succeeded;        /* jobs that succeeded */
} xfer_engine;

/* Starts up to o->jobs workers (they connect when the first job comes). */
int xfer_engine_start(xfer_engine *e, const ftp_opts *o, progress_t *pg);

/* Queues a job (the engine owns it from now on) and counts it in the
 * progress display. */
int xfer_engine_submit(xfer_engine *e, xfer_job *job);

/* Queues a job already counted with progress_expect. */
int xfer_engine_enqueue(xfer_engine *e, xfer_job *job);

/* No more jobs: waits for the queue to drain and the workers to end, then
 * frees them. Returns the number of failed jobs. */
int xfer_engine_finish(xfer_engine *e);

/* Deletes any temporary download file still present (for signals). */
void xfer_cleanup_temp_files(void);

#endif
