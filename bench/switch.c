/* Context switch benchmark: corio against ucontext (swapcontext), Boost.Context
 * (jump_fcontext, when libboost_context was found at build time) and a bare
 * assembly floor in the same process, interleaved, medians of several
 * repetitions.
 *
 *   bench_switch [-q]     -q: fewer iterations (a quick check)
 *
 * Prints one-way switch times, create+run+free times (also with the FPU
 * control words shared, cio_coro_set_fpu_private(false)), RSS per suspended
 * coroutine at 1M coroutines (plain and shrunk), and a closing line
 *   RESULT switch_ns=.. ucontext_switch_ns=.. create_ns=..
 * rss_per_coro_bytes=.. shrunk_bytes_per_coro=.. switch_shared_fpu_ns=..
 * create_shared_fpu_ns=.. floor_switch_ns=.. fcontext_switch_ns=..
 * fcontext_create_ns=.. (the fcontext keys only when it was built in).
 * Times are the thread's CPU time (wall time on a quiet machine). */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "corio.h"
#include "common/cli.h"

#define REPS 7
#define MILLION 1000000

/* The thread's CPU time: other processes sharing the CPU do not count
 * (equal to wall time on a quiet machine). */
static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_switch: %s: %s\n", what, cio_strerror(err));
    exit(1);
}

/* ---- corio ---- */

static void *bouncer(void *arg)
{
    for (;;)
        arg = cio_coro_yield(arg);
    return NULL;
}

/* Same, with an inexact float operation per round: the MXCSR sticky flags
 * differ between the two sides on every switch. */
static volatile double fp_sink = 1.0;
static void *fp_bouncer(void *arg)
{
    for (;;) {
        fp_sink = fp_sink / 3.0;
        arg = cio_coro_yield(arg);
    }
    return NULL;
}

static double corio_switch_ns(cio_coro_cb fn, long rounds)
{
    cio_coro_t *co;
    int rc = cio_coro_create(&co, fn, NULL, 0);
    if (rc)
        die("create", rc);
    cio_coro_switch(co, NULL, NULL);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        cio_coro_switch(co, (void *)i, NULL);
    double t1 = now_ns();
    cio_coro_free(co);
    return (t1 - t0) / (2.0 * (double)rounds);
}

static void *returner(void *arg)
{
    return arg;
}

static double corio_create_ns(long rounds)
{
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++) {
        cio_coro_t *co;
        int rc = cio_coro_create(&co, returner, (void *)i, 0);
        if (rc)
            die("create", rc);
        cio_coro_switch(co, NULL, NULL);
        cio_coro_free(co);
    }
    return (now_ns() - t0) / (double)rounds;
}

/* ---- the floor: callee-saved registers only, then an indirect jmp ---- */

#if defined(__x86_64__)
#define HAVE_FLOOR 1
/* void *floor_switch(void **save_sp, void *resume_sp, void *value): what
 * any x86-64 switch must do at least; no FPU words, no checks. */
__asm__(".text\n"
        ".p2align 4\n"
        "floor_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n"
        "  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n"
        "  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  popq %rcx\n"
        "  movq %rdx, %rax\n"
        "  jmp *%rcx\n"
        "floor_entry:\n"
        "  movq %rax, %rdi\n"
        "  call floor_body\n"
        "  ud2\n");
void *floor_switch(void **save_sp, void *resume_sp, void *value);
void floor_entry(void);
void floor_body(void *value);

static void *floor_main_sp, *floor_co_sp;

void floor_body(void *value)
{
    for (;;)
        value = floor_switch(&floor_co_sp, floor_main_sp, value);
}

static double floor_switch_ns(char *stack, long rounds)
{
    uintptr_t top =
        (uintptr_t)(stack + CIO_CORO_STACK_DEFAULT) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)top - 7; /* six registers, the entry */
    memset(f, 0, 6 * sizeof *f);
    f[6] = (uint64_t)(uintptr_t)floor_entry;
    floor_co_sp = f;
    floor_switch(&floor_main_sp, floor_co_sp, NULL);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        floor_switch(&floor_main_sp, floor_co_sp, (void *)i);
    return (now_ns() - t0) / (2.0 * (double)rounds);
}
#else
#define HAVE_FLOOR 0
#endif

/* ---- Boost.Context ---- */

#if CIO_HAVE_FCONTEXT
#define HAVE_FCONTEXT 1
/* The C interface of boost/context/detail/fcontext.hpp (extern "C" there):
 * a transfer_t is returned in rax:rdx like any two-word struct. */
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));

static void fc_bouncer(transfer_t t)
{
    for (;;)
        t = jump_fcontext(t.fctx, t.data);
}

static double fc_switch_ns(char *stack, long rounds)
{
    fcontext_t c = make_fcontext(stack + CIO_CORO_STACK_DEFAULT,
                                 CIO_CORO_STACK_DEFAULT, fc_bouncer);
    transfer_t t = jump_fcontext(c, NULL);
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++)
        t = jump_fcontext(t.fctx, (void *)i);
    return (now_ns() - t0) / (2.0 * (double)rounds);
}

/* Runs once and hands back its value; its stack is reused as it is. */
static void fc_returner(transfer_t t)
{
    jump_fcontext(t.fctx, t.data);
}

static double fc_create_ns(char *stack, long rounds)
{
    double t0 = now_ns();
    for (long i = 0; i < rounds; i++) {
        fcontext_t c = make_fcontext(stack + CIO_CORO_STACK_DEFAULT,
                                     CIO_CORO_STACK_DEFAULT, fc_returner);
        jump_fcontext(c, (void *)i);
    }
    return (now_ns() - t0) / (double)rounds;
}
#else
#define HAVE_FCONTEXT 0
#endif

/* ---- ucontext ---- */

static ucontext_t uc_main, uc_co;
static char *uc_stack;

static void uc_bouncer(void)
{
    for (;;)
        swapcontext(&uc_co, &uc_main);
}

static double uc_switch_ns(long rounds)
{
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = uc_stack;
    uc_co.uc_stack.ss_size = CIO_CORO_STACK_DEFAULT;
    uc_co.uc_link = &uc_main;
    makecontext(&uc_co, uc_bouncer, 0);
    swapcontext(&uc_main, &uc_co);
    double t0 = now_ns();
    /* volatile: swapcontext returns twice as far as the compiler knows. */
    for (volatile long i = 0; i < rounds; i++)
        swapcontext(&uc_main, &uc_co);
    return (now_ns() - t0) / (2.0 * (double)rounds);
}

static void uc_returner(void)
{
}

static double uc_create_ns(long rounds)
{
    double t0 = now_ns();
    for (volatile long i = 0; i < rounds; i++) {
        getcontext(&uc_co);
        uc_co.uc_stack.ss_sp = uc_stack;
        uc_co.uc_stack.ss_size = CIO_CORO_STACK_DEFAULT;
        uc_co.uc_link = &uc_main;
        makecontext(&uc_co, uc_returner, 0);
        swapcontext(&uc_main, &uc_co);
    }
    return (now_ns() - t0) / (double)rounds;
}

/* ---- memory at scale ---- */

static long rss_bytes(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return rss * sysconf(_SC_PAGESIZE);
}

static void *sleeper(void *arg)
{
    cio_coro_yield(arg);
    return arg;
}

static void memory_at_scale(long n, long *per_coro, long *shrunk)
{
    cio_coro_t **all = malloc((size_t)n * sizeof *all);
    if (!all)
        die("malloc", -12);
    long before = rss_bytes();
    for (long i = 0; i < n; i++) {
        int rc = cio_coro_create(&all[i], sleeper, NULL, 0);
        if (rc)
            die("create", rc);
        cio_coro_switch(all[i], NULL, NULL);
    }
    long suspended = rss_bytes();
    for (long i = 0; i < n; i++) {
        int rc = cio_coro_shrink(all[i]);
        if (rc)
            die("shrink", rc);
    }
    long small = rss_bytes();
    /* The array of pointers is ours, not the coroutines'. */
    long array = n * (long)sizeof *all;
    *per_coro = (suspended - before - array) / n;
    *shrunk = (small - before - array) / n;
    for (long i = 0; i < n; i++) {
        cio_coro_switch(all[i], NULL, NULL); /* restores, runs to the end */
        cio_coro_free(all[i]);
    }
    free(all);
}

static void pin(void)
{
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(int argc, char **argv)
{
    cli_begin(argc, argv, "bench_switch", "[-q]",
              "Context switch against swapcontext; -q runs fewer "
              "iterations.\nEnds with one RESULT line.\n  --help, --version\n");
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "-q") != 0))
        cli_fail("bench_switch", "[-q]");
    int quick = argc > 1 && strcmp(argv[1], "-q") == 0;
    long rounds = quick ? 200000 : 5000000;
    long uc_rounds = quick ? 20000 : 300000;
    long creates = quick ? 200000 : 3000000;
    long scale = quick ? 100000 : MILLION;
    double sw[REPS], swfp[REPS], uc[REPS], cr[REPS], uccr[REPS];
    double swsh[REPS], crsh[REPS], fl[REPS], fcs[REPS], fcc[REPS];

    pin();
    uc_stack = malloc(CIO_CORO_STACK_DEFAULT);
    char *anchor_stack = malloc(CIO_CORO_STACK_DEFAULT);
    cio_coro_current();
    corio_switch_ns(bouncer, rounds / 10); /* warm up */
    for (int r = 0; r < REPS; r++) {
        fl[r] = fcs[r] = fcc[r] = 0;
#if HAVE_FLOOR
        fl[r] = floor_switch_ns(anchor_stack, rounds);
#endif
#if HAVE_FCONTEXT
        fcs[r] = fc_switch_ns(anchor_stack, rounds);
        fcc[r] = fc_create_ns(anchor_stack, creates);
#endif
        sw[r] = corio_switch_ns(bouncer, rounds);
        swfp[r] = corio_switch_ns(fp_bouncer, rounds);
        uc[r] = uc_switch_ns(uc_rounds);
        cr[r] = corio_create_ns(creates);
        uccr[r] = uc_create_ns(uc_rounds);
        cio_coro_set_fpu_private(false);
        swsh[r] = corio_switch_ns(bouncer, rounds);
        crsh[r] = corio_create_ns(creates);
        cio_coro_set_fpu_private(true);
    }
    double m_sw = median(sw, REPS), m_fp = median(swfp, REPS);
    double m_uc = median(uc, REPS), m_cr = median(cr, REPS);
    double m_uccr = median(uccr, REPS);
    double m_swsh = median(swsh, REPS), m_crsh = median(crsh, REPS);
    double m_fl = median(fl, REPS), m_fcs = median(fcs, REPS);
    double m_fcc = median(fcc, REPS);
    printf("one-way switch, corio:              %8.2f ns\n", m_sw);
    printf("one-way switch, corio, FP flags set: %7.2f ns (incl. a division)\n",
           m_fp);
    printf("one-way switch, ucontext:           %8.2f ns\n", m_uc);
    printf("ratio ucontext/corio:               %8.1fx\n", m_uc / m_sw);
    printf("create+run+free, corio (pooled):    %8.2f ns\n", m_cr);
    printf("create+run+free, ucontext:          %8.2f ns\n", m_uccr);
    printf("with FPU control words shared by the thread's coroutines:\n");
    printf("one-way switch, corio, shared FPU:  %8.2f ns (%.1fx)\n", m_swsh,
           m_uc / m_swsh);
    printf("create+run+free, shared FPU:        %8.2f ns\n", m_crsh);
    if (HAVE_FLOOR)
        printf("one-way switch, bare floor:         %8.2f ns (shared FPU "
               "corio %.2fx of it)\n",
               m_fl, m_swsh / m_fl);
    else
        printf("SKIP: no bare assembly floor for this architecture\n");
    if (HAVE_FCONTEXT) {
        printf("one-way switch, Boost fcontext:     %8.2f ns (corio %.2fx of "
               "it)\n",
               m_fcs, m_sw / m_fcs);
        printf("create+run+free, Boost fcontext:    %8.2f ns (corio %.2fx of "
               "it)\n",
               m_fcc, m_cr / m_fcc);
    } else {
        printf("SKIP: Boost.Context not found at build time "
               "(libboost-context-dev)\n");
    }

    long per_coro, shrunk;
    memory_at_scale(scale, &per_coro, &shrunk);
    printf("RSS per suspended coroutine (%ld):  %6ld bytes\n", scale, per_coro);
    printf("RSS per shrunk coroutine (%ld):     %6ld bytes\n", scale, shrunk);
    printf("RESULT switch_ns=%.2f ucontext_switch_ns=%.2f create_ns=%.2f "
           "rss_per_coro_bytes=%ld shrunk_bytes_per_coro=%ld "
           "switch_shared_fpu_ns=%.2f create_shared_fpu_ns=%.2f",
           m_sw, m_uc, m_cr, per_coro, shrunk, m_swsh, m_crsh);
    if (HAVE_FLOOR)
        printf(" floor_switch_ns=%.2f", m_fl);
    if (HAVE_FCONTEXT)
        printf(" fcontext_switch_ns=%.2f fcontext_create_ns=%.2f", m_fcs,
               m_fcc);
    printf("\n");
    free(anchor_stack);
    free(uc_stack);
    return 0;
}
