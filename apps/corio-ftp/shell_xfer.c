/* The shell's transfer commands: get and put on the shell's connection,
 * mget and mput (remote patterns, local globs) as one batch through an
 * engine of workers with progress bars. */
#include "shell_cmd.h"

#include "listing.h"
#include "mirror.h"

#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Runs jobs: one on the shell's connection, several through an engine of
 * workers that log in on their own connections (remote paths absolute). */
static int run_jobs(shell *sh, xfer_job **jobs, int n)
{
    progress_t *pg = progress_new(progress_auto_mode(sh->opts.quiet));
    int failed = 0;
    if (!pg)
        return -1;
    progress_start(pg);
    if (n == 1) {
        char err[1024];
        progress_expect(pg, 1, jobs[0]->size);
        if (xfer_run(sh->c, jobs[0], &sh->opts, pg, err, sizeof err) < 0) {
            progress_error(pg, "%s: %s",
                           jobs[0]->kind == XFER_GET ? jobs[0]->remote
                                                     : jobs[0]->local,
                           err);
            failed++;
        }
        xfer_job_free(jobs[0]);
    } else {
        xfer_engine e;
        if (xfer_engine_start(&e, &sh->opts, pg) < 0) {
            for (int i = 0; i < n; i++)
                xfer_job_free(jobs[i]);
            failed = n;
        } else {
            for (int i = 0; i < n; i++)
                xfer_engine_submit(&e, jobs[i]);
            failed = xfer_engine_finish(&e);
        }
    }
    progress_finish(pg);
    progress_free(pg);
    if (sh->c->fd < 0 && sh->connected) {
        printf("Connection closed.\n");
        sh->connected = sh->logged_in = false;
    }
    return failed ? -1 : 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Takes a leading "-c" (continue partial files) off the arguments; the
 * setting lasts for this command only (run_line restores it). */
static void take_continue(shell *sh, int *argc, char ***argv)
{
    if (*argc > 1 && !strcmp((*argv)[1], "-c")) {
        sh->opts.resume = true;
        (*argv)[1] = (*argv)[0];
        (*argv)++;
        (*argc)--;
    }
}

int shell_get(shell *sh, int argc, char **argv)
{
    take_continue(sh, &argc, &argv);
    if (argc < 2) {
        printf("usage: get remote-file [local-file]\n");
        return -1;
    }
    xfer_job *job =
        xfer_job_new(XFER_GET, &sh->site, argv[1],
                     argc > 2 ? argv[2] : base_name(argv[1]), -1, -1);
    return job ? run_jobs(sh, &job, 1) : -1;
}

int shell_put(shell *sh, int argc, char **argv)
{
    take_continue(sh, &argc, &argv);
    if (argc < 2) {
        printf("usage: put local-file [remote-file]\n");
        return -1;
    }
    xfer_job *job =
        xfer_job_new(XFER_PUT, &sh->site,
                     argc > 2 ? argv[2] : base_name(argv[1]), argv[1], -1, -1);
    return job ? run_jobs(sh, &job, 1) : -1;
}

/* The shell's remote directory, so workers on fresh connections find the
 * same files. */
static int remote_cwd(shell *sh, char *out, size_t outlen)
{
    int rc = ftp_pwd(sh->c, out, outlen);
    return rc < 0 ? shell_fail_reply(sh, rc) : 0;
}

/* The jobs mget or mput collects, run together at the end. */
typedef struct job_list {
    xfer_job **v; /* the jobs */
    int n;        /* how many */
    int cap;      /* room in v */
} job_list;

/* Adds job (NULL when making it failed); frees it if it cannot. */
static int add_job(job_list *jobs, xfer_job *job)
{
    if (!job)
        return -1;
    if (jobs->n == jobs->cap) {
        int ncap = jobs->cap ? jobs->cap * 2 : 16;
        xfer_job **grown = realloc(jobs->v, (size_t)ncap * sizeof *grown);
        if (!grown) {
            xfer_job_free(job);
            return -1;
        }
        jobs->v = grown;
        jobs->cap = ncap;
    }
    jobs->v[jobs->n++] = job;
    return 0;
}

/* Adds a job for each file of one mget argument ("dir/pattern", the
 * pattern matched against the remote listing); -1 if none or on error. */
static int mget_collect(shell *sh, const char *cwd, const char *arg,
                        job_list *jobs)
{
    const char *pattern = base_name(arg);
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", (int)(pattern - arg), arg);
    char *absdir = dir[0] == '/' ? strdup(dir) : path_join(cwd, dir);
    if (!absdir)
        return -1;
    char *text;
    size_t len;
    bool is_mlsd;
    int rc = ftp_fetch_listing(sh->c, absdir, false, &text, &len, &is_mlsd);
    if (rc < 0) {
        free(absdir);
        return shell_fail_reply(sh, rc);
    }
    ftp_listing l = {0};
    listing_parse(text, len, is_mlsd, &l);
    free(text);
    int matched = 0;
    for (size_t k = 0; k < l.n; k++) {
        if (l.v[k].type == 'd' || fnmatch(pattern, l.v[k].name, 0))
            continue;
        char *remote = path_join(absdir, l.v[k].name);
        if (remote &&
            add_job(jobs, xfer_job_new(XFER_GET, &sh->site, remote, l.v[k].name,
                                       l.v[k].size, -1)) == 0)
            matched++;
        free(remote);
    }
    listing_free(&l);
    free(absdir);
    if (!matched) {
        printf("%s: no match\n", arg);
        return -1;
    }
    return 0;
}

/* Adds a job for each regular file a local glob matches, uploaded into
 * the remote cwd; -1 if the glob matches nothing. */
static int mput_collect(shell *sh, const char *cwd, const char *arg,
                        job_list *jobs)
{
    glob_t g;
    if (glob(arg, 0, NULL, &g) != 0) {
        printf("%s: no match\n", arg);
        return -1;
    }
    for (size_t k = 0; k < g.gl_pathc; k++) {
        struct stat st;
        if (stat(g.gl_pathv[k], &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        char *remote = path_join(cwd, base_name(g.gl_pathv[k]));
        if (remote)
            add_job(jobs, xfer_job_new(XFER_PUT, &sh->site, remote,
                                       g.gl_pathv[k], st.st_size, -1));
        free(remote);
    }
    globfree(&g);
    return 0;
}

typedef int (*collect_fn)(shell *sh, const char *cwd, const char *arg,
                          job_list *jobs);

/* mget and mput: every argument adds its files, then all of them run as
 * one batch; a lost connection stops the collecting. */
static int multi_xfer(shell *sh, int argc, char **argv, const char *usage,
                      collect_fn collect)
{
    take_continue(sh, &argc, &argv);
    if (argc < 2) {
        printf("usage: %s\n", usage);
        return -1;
    }
    char cwd[4096];
    if (remote_cwd(sh, cwd, sizeof cwd) < 0)
        return -1;
    job_list jobs = {0};
    int rc = 0;
    for (int i = 1; i < argc && sh->connected; i++)
        if (collect(sh, cwd, argv[i], &jobs) < 0)
            rc = -1;
    if (jobs.n > 0 && run_jobs(sh, jobs.v, jobs.n) < 0)
        rc = -1;
    free(jobs.v);
    return rc;
}

int shell_mget(shell *sh, int argc, char **argv)
{
    return multi_xfer(sh, argc, argv, "mget remote-files...", mget_collect);
}

int shell_mput(shell *sh, int argc, char **argv)
{
    return multi_xfer(sh, argc, argv, "mput local-files...", mput_collect);
}
