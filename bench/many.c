/* Ten million suspended coroutines in one process: copied stacks (each
 * coroutine keeps only its live frames, in a buffer of their size, while
 * another one runs on its shared stack), against the baseline of
 * coroutines with stacks of their own, shrunk once suspended
 * (cio_coro_shrink), at a tenth of the count.
 *
 *   bench_many [-n N] [-b N]    defaults: -n 10000000 -b 1000000
 *
 * For each kind: the time to create them all, to run each to its first
 * wait (a yield), and to wake them all (in a scattered order) and run
 * them to their end; and the memory each costs while all of them wait:
 * the growth of VmRSS over the count (the array of handles excluded).
 * Ends with one line:
 *   RESULT bench=many_coroutines n=N bytes_per_coro=.. create_ns=..
 *          start_ns=.. wake_ns=.. free_ns=.. create_s=.. wake_s=..
 *          base_n=.. base_bytes_per_coro=.. base_create_ns=.. base_start_ns=..
 *          base_wake_ns=.. bytes_vs_base=.. wake_vs_base=..
 * Times are wall time per coroutine (the phases are long and run no
 * system call but the page faults of fresh memory). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cli.h"
#include "coro/coro_int.h"
#include "corio.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_many: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

/* A coroutine that waits once (a yield, as a task waits for its hub) and
 * then ends with its argument, which the waker checks. */
static void *body(void *arg)
{
    cio_coro_yield(NULL);
    return arg;
}

struct phase {
    long n;           /* coroutines */
    double create_ns; /* per coroutine */
    double start_ns;  /* first switch, to its first wait */
    double wake_ns;   /* last switch, to its end */
    double free_ns;   /* cio_coro_free */
    double bytes;     /* memory per waiting coroutine */
    double create_s;  /* the whole create */
    double wake_s;    /* the whole wake */
};

/* A stride through 0..n-1 that visits each once, far apart. */
static long stride_for(long n)
{
    long s = n / 2 + 7919;
    for (;; s++) {
        long a = s, b = n;
        while (b) {
            long r = a % b;
            a = b;
            b = r;
        }
        if (a == 1)
            return s % n ? s % n : 1;
    }
}

static void run(struct phase *p, long n, bool copied)
{
    cio_coro_t **all = malloc((size_t)n * sizeof *all);
    if (!all)
        die("the array of handles", -12);
    memset(all, 0, (size_t)n * sizeof *all); /* its pages count before */
    cio_coro_current();
    long before = rss_bytes();
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        int rc = copied ? cio__coro_create_copied(&all[i], body, NULL, 0, 0)
                        : cio_coro_create(&all[i], body, NULL, 16 * 1024);
        if (rc < 0)
            die("create", rc);
    }
    double t1 = now_s();
    if (copied && !all[0]->copied) {
        printf("SKIP: no copied stacks in this build (x86-64 without "
               "ASan has them)\n");
        exit(77);
    }
    for (long i = 0; i < n; i++) {
        cio_coro_switch(all[i], (void *)i, NULL); /* runs to its yield */
        if (!copied)
            cio_coro_shrink(all[i]);
    }
    double t2 = now_s();
    long waiting = rss_bytes();
    long stride = stride_for(n), bad = 0;
    /* As the hub does for the tasks it is about to run: the coroutines 16
     * wakes ahead are prefetched, and the frames of those 8 ahead. */
    long ahead8 = (long)((8 * (unsigned long long)stride) % (unsigned long)n);
    long ahead16 = (long)((16 * (unsigned long long)stride) % (unsigned long)n);
    for (long k = 0, i = 0; k < n; k++, i = (i + stride) % n) {
        __builtin_prefetch(all[(i + ahead16) % n]);
        const char *frames = cio__coro_saved_sp(all[(i + ahead8) % n]);
        __builtin_prefetch(frames);
        __builtin_prefetch(frames + 64);
        void *got = NULL;
        cio_coro_switch(all[i], NULL, &got);
        bad += got != (void *)i;
    }
    double t3 = now_s();
    for (long i = 0; i < n; i++)
        cio_coro_free(all[i]);
    double t4 = now_s();
    free(all);
    if (bad)
        die("a coroutine returned another's value", -5);
    p->n = n;
    p->create_ns = (t1 - t0) * 1e9 / (double)n;
    p->start_ns = (t2 - t1) * 1e9 / (double)n;
    p->wake_ns = (t3 - t2) * 1e9 / (double)n;
    p->free_ns = (t4 - t3) * 1e9 / (double)n;
    p->bytes = (double)(waiting - before) / (double)n;
    p->create_s = t1 - t0;
    p->wake_s = t3 - t2;
    printf("%-28s n=%ld: %.0f B each; create %.1f ns, start %.1f ns, "
           "wake %.1f ns, free %.1f ns (create %.2f s, wake %.2f s)\n",
           copied ? "copied stacks" : "own stacks, shrunk", n, p->bytes,
           p->create_ns, p->start_ns, p->wake_ns, p->free_ns, p->create_s,
           p->wake_s);
    fflush(stdout);
}

static long count_arg(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1)
        cli_fail("bench_many", "[-n N] [-b N]");
    return v;
}

int main(int argc, char **argv)
{
    static const char usage[] = "[-n N] [-b N]";
    cli_begin(argc, argv, "bench_many", usage,
              "Suspended coroutines by the million: -n N with copied stacks "
              "(default\n10000000), -b N with stacks of their own, shrunk "
              "(default 1000000).\nEnds with one RESULT line.\n"
              "  --help, --version\n");
    long n = 10000000, base_n = 1000000;
    int opt;
    while ((opt = getopt(argc, argv, "n:b:")) != -1) {
        if (opt == 'n')
            n = count_arg(optarg);
        else if (opt == 'b')
            base_n = count_arg(optarg);
        else
            cli_fail("bench_many", usage);
    }
    if (optind != argc)
        cli_fail("bench_many", usage);
    struct phase base, copied;
    run(&base, base_n, false);
    run(&copied, n, true);
    printf("RESULT bench=many_coroutines n=%ld bytes_per_coro=%.0f "
           "create_ns=%.1f start_ns=%.1f wake_ns=%.1f free_ns=%.1f "
           "create_s=%.2f wake_s=%.2f base_n=%ld base_bytes_per_coro=%.0f "
           "base_create_ns=%.1f base_start_ns=%.1f base_wake_ns=%.1f "
           "bytes_vs_base=%.3f wake_vs_base=%.3f\n",
           copied.n, copied.bytes, copied.create_ns, copied.start_ns,
           copied.wake_ns, copied.free_ns, copied.create_s, copied.wake_s,
           base.n, base.bytes, base.create_ns, base.start_ns, base.wake_ns,
           copied.bytes / base.bytes, copied.wake_ns / base.wake_ns);
    return 0;
}
