/* Floating point across switches: values live in FP/SIMD registers survive
 * a switch, and each coroutine keeps its own rounding mode and (on x86-64)
 * MXCSR flush-to-zero and x87 precision control. */
#include <fenv.h>
#include <float.h>
#include <stdint.h>

#include "corio.h"
#include "check.h"

#if defined(__x86_64__)
#include <xmmintrin.h>
/* Valgrind emulates neither flush-to-zero nor SSE rounding modes: check
 * those only on hardware. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FTZ_WORKS (!RUNNING_ON_VALGRIND)
#endif
#endif
#ifndef FTZ_WORKS
#define FTZ_WORKS 1
#endif
#endif

#define ROUNDS 2000

/* Many doubles live across each switch: the compiler keeps some of them in
 * callee-saved FP registers where the ABI has them (d8-d15 on aarch64). */
static void *fp_worker(void *arg)
{
    double base = (double)(uintptr_t)arg;
    double a = base + 0.5, b = base * 1.25, c = base - 3.75, d = base / 8.0;
    double e = a * b, f = c + d, g = e - f, h = g * 0.5;
    long double x = (long double)base / 3.0L;
    for (int i = 0; i < ROUNDS; i++) {
        cio_coro_yield(NULL);
        a += 1.0, b += 2.0, c += 3.0, d += 4.0;
        e += a, f += b, g += c, h += d;
        x += 1.0L;
    }
    double sum = a + b + c + d + e + f + g + h + (double)x;
    static _Thread_local double out[2];
    out[base > 1000 ? 1 : 0] = sum;
    return &out[base > 1000 ? 1 : 0];
}

static double expected(double base)
{
    double a = base + 0.5, b = base * 1.25, c = base - 3.75, d = base / 8.0;
    double e = a * b, f = c + d, g = e - f, h = g * 0.5;
    long double x = (long double)base / 3.0L;
    for (int i = 0; i < ROUNDS; i++) {
        a += 1.0, b += 2.0, c += 3.0, d += 4.0;
        e += a, f += b, g += c, h += d;
        x += 1.0L;
    }
    return a + b + c + d + e + f + g + h + (double)x;
}

static void test_values(void)
{
    cio_coro_t *p, *q;
    CHECK_EQ(cio_coro_create(&p, fp_worker, (void *)(uintptr_t)7, 0), 0);
    CHECK_EQ(cio_coro_create(&q, fp_worker, (void *)(uintptr_t)5001, 0), 0);
    double mine = 1.0 / 3.0, acc = 0;
    while (!cio_coro_done(p) || !cio_coro_done(q)) {
        void *r;
        if (!cio_coro_done(p))
            CHECK_EQ(cio_coro_switch(p, NULL, &r), 0);
        acc += mine;
        if (!cio_coro_done(q))
            CHECK_EQ(cio_coro_switch(q, NULL, &r), 0);
    }
    CHECK(*(double *)cio_coro_result(p) == expected(7));
    CHECK(*(double *)cio_coro_result(q) == expected(5001));
    CHECK(mine == 1.0 / 3.0 && acc > 600);
    cio_coro_free(p);
    cio_coro_free(q);
}

/* 1/3 rounded in the current mode, through memory so nothing is folded. */
static double third(void)
{
    volatile double one = 1.0, three = 3.0;
    return one / three;
}

static int want_mode; /* the rounding mode the worker must keep */

static void *mode_worker(void *arg)
{
    CHECK_EQ(fesetround(want_mode), 0);
#if defined(__x86_64__)
    _mm_setcsr(_mm_getcsr() | _MM_FLUSH_ZERO_ON);
#endif
    double mine = third();
    for (int i = 0; i < 100; i++) {
        cio_coro_yield(NULL);
        CHECK_EQ(fegetround(), want_mode);
        CHECK(third() == mine);
#if defined(__x86_64__)
        if (FTZ_WORKS) {
            CHECK(_mm_getcsr() & _MM_FLUSH_ZERO_ON);
            volatile double tiny = DBL_MIN;
            CHECK(tiny / 4.0 == 0.0); /* flushed */
        }
#endif
    }
    return NULL;
}

static void test_modes(void)
{
    double nearest = third();
    want_mode = FE_UPWARD;
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, mode_worker, NULL, 0), 0);
    while (!cio_coro_done(co)) {
        CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
        /* Back here: our own mode, not the worker's. */
        CHECK_EQ(fegetround(), FE_TONEAREST);
        CHECK(third() == nearest);
#if defined(__x86_64__)
        if (FTZ_WORKS) {
            CHECK(!(_mm_getcsr() & _MM_FLUSH_ZERO_ON));
            volatile double tiny = DBL_MIN;
            CHECK(tiny / 4.0 != 0.0); /* subnormal, not flushed */
        }
#endif
    }
    cio_coro_free(co);

    /* The other way round: the root changes mode, the worker keeps its. */
    want_mode = FE_TOWARDZERO;
    CHECK_EQ(cio_coro_create(&co, mode_worker, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
    CHECK_EQ(fesetround(FE_DOWNWARD), 0);
    while (!cio_coro_done(co)) {
        CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
        CHECK_EQ(fegetround(), FE_DOWNWARD);
    }
    cio_coro_free(co);
    CHECK_EQ(fesetround(FE_TONEAREST), 0);
}

static void *check_inherited(void *arg)
{
    CHECK_EQ(fegetround(), FE_DOWNWARD); /* the starter's mode */
    CHECK_EQ(fesetround(FE_UPWARD), 0);  /* lost when it returns */
    return arg;
}

/* A new coroutine starts with the control words of whoever starts it, and
 * one that ends (here without ever yielding) leaves its starter's intact. */
static void test_inherit_and_end(void)
{
    CHECK_EQ(fesetround(FE_DOWNWARD), 0);
    for (int i = 0; i < 3; i++) { /* fresh, then pooled coroutines */
        cio_coro_t *co;
        void *got = NULL;
        CHECK_EQ(cio_coro_create(&co, check_inherited, &got, 0), 0);
        CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
        CHECK(cio_coro_done(co));
        CHECK(got == &got);
        CHECK_EQ(fegetround(), FE_DOWNWARD);
        cio_coro_free(co);
    }
    CHECK_EQ(fesetround(FE_TONEAREST), 0);
}

static void *set_upward(void *arg)
{
    CHECK_EQ(fesetround(FE_UPWARD), 0);
    cio_coro_yield(NULL);
    return NULL;
}

/* With shared control words a coroutine's mode change is the thread's;
 * values in registers are still kept. */
static void test_shared(void)
{
    CHECK(cio_coro_fpu_private());
    cio_coro_set_fpu_private(false);
    CHECK(!cio_coro_fpu_private());
    test_values();
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, set_upward, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
#if defined(__x86_64__) && !CIO_USE_UCONTEXT
    CHECK_EQ(fegetround(), FE_UPWARD);
    volatile double one = 1.0, three = 3.0;
    CHECK(!FTZ_WORKS || one / three > 1.0 / 3.0); /* MXCSR too */
#else
    CHECK_EQ(fegetround(), FE_TONEAREST); /* always kept here */
#endif
    CHECK_EQ(fesetround(FE_TONEAREST), 0);
    /* Back to private: the coroutine saved by a shared switch inherits. */
    cio_coro_set_fpu_private(true);
    CHECK_EQ(cio_coro_switch(co, NULL, NULL), 0);
    CHECK(cio_coro_done(co));
    CHECK_EQ(fegetround(), FE_TONEAREST);
    cio_coro_free(co);
}

int main(void)
{
    test_values();
    test_modes();
    test_inherit_and_end();
    test_shared();
    test_modes();
    test_inherit_and_end();
    printf("coro_fp: ok\n");
    return 0;
}
