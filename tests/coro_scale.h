/* Shared by coro_many and coro_million: n coroutines suspended at once,
 * each resumed in a shuffled order and checked, then finished and freed. */
#ifndef CIO_TESTS_CORO_SCALE_H
#define CIO_TESTS_CORO_SCALE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "corio.h"
#include "check.h"

static void *scale_body(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    /* Something on the stack that must survive while suspended. */
    volatile uintptr_t mark[4] = {id, id * 3, id ^ 0x5a5a, id + 7};
    uintptr_t got = (uintptr_t)cio_coro_yield((void *)(id * 2));
    CHECK_EQ(got, id + 1);
    CHECK(mark[0] == id && mark[1] == id * 3 && mark[2] == (id ^ 0x5a5a) &&
          mark[3] == id + 7);
    return (void *)(id * 5);
}

static long rss_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = 0;
    if (f)
        fclose(f);
    return rss * 4;
}

/* Runs the scenario with n coroutines; shrinks every other one if asked. */
static void scale_run(long n, int shrink)
{
    cio_coro_t **all = calloc((size_t)n, sizeof *all);
    CHECK(all != NULL);
    long rss0 = rss_kib();
    for (long i = 0; i < n; i++) {
        int rc = cio_coro_create(&all[i], scale_body, (void *)(uintptr_t)i, 0);
        if (rc) {
            fprintf(stderr, "create #%ld: %s\n", i, cio_strerror(rc));
            exit(1);
        }
        void *got;
        CHECK_EQ(cio_coro_switch(all[i], NULL, &got), 0);
        CHECK_EQ((uintptr_t)got, (uintptr_t)i * 2);
    }
    long rss1 = rss_kib();
    printf("%ld suspended: %ld bytes RSS each\n", n, (rss1 - rss0) * 1024 / n);
    if (shrink) {
        for (long i = 0; i < n; i += 2)
            CHECK_EQ(cio_coro_shrink(all[i]), 0);
        printf("half shrunk: %ld bytes RSS each\n",
               (rss_kib() - rss0) * 1024 / n);
    }
    /* Resume in a scattered order (a stride coprime with n). */
    long stride = 7919;
    while (n % stride == 0)
        stride += 2;
    for (long k = 0, i = 0; k < n; k++, i = (i + stride) % n) {
        void *got;
        CHECK(!cio_coro_done(all[i]));
        CHECK_EQ(cio_coro_switch(all[i], (void *)(uintptr_t)(i + 1), &got), 0);
        CHECK(cio_coro_done(all[i]));
        CHECK_EQ((uintptr_t)got, (uintptr_t)i * 5);
        cio_coro_free(all[i]);
    }
    free(all);
}

#endif
