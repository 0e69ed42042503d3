/* Stacks: deep recursion that stays within the stack works; shrink copies
 * a suspended coroutine's live stack out and back; footprints. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "corio.h"
#include "check.h"

/* Each level keeps a 256-byte buffer live and checks it after the call. */
static unsigned long recurse(unsigned depth)
{
    volatile unsigned char buf[256];
    for (unsigned i = 0; i < sizeof buf; i++)
        buf[i] = (unsigned char)(depth + i);
    unsigned long below = depth ? recurse(depth - 1) : 0;
    for (unsigned i = 0; i < sizeof buf; i++)
        CHECK(buf[i] == (unsigned char)(depth + i));
    if (depth % 64 == 0)
        cio_coro_yield((void *)(uintptr_t)depth);
    return below + buf[depth % sizeof buf];
}

static void *deep(void *arg)
{
    return (void *)(uintptr_t)recurse((unsigned)(uintptr_t)arg);
}

static void test_recursion(void)
{
    /* About 300 bytes a level: 700 levels use ~210 KiB of 512 KiB (the
     * sanitizers' bigger frames, ~450 bytes, still fit). */
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, deep, (void *)(uintptr_t)700, 512 * 1024), 0);
    unsigned long expect = 0;
    for (unsigned d = 0; d <= 700; d++)
        expect += (unsigned char)(d + d % 256);
    int yields = 0;
    void *got = NULL;
    while (!cio_coro_done(co)) {
        CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
        /* Shrinking a deep stack in the middle works too. */
        if (!cio_coro_done(co) && yields++ % 3 == 0)
            CHECK_EQ(cio_coro_shrink(co), 0);
    }
    CHECK_EQ((uintptr_t)got, expect);
    CHECK_EQ(yields, 700 / 64 + 1);
    cio_coro_free(co);
}

static void *keeper(void *arg)
{
    char text[64];
    snprintf(text, sizeof text, "coroutine %lu", (unsigned long)(uintptr_t)arg);
    for (int i = 0; i < 5; i++) {
        void *in = cio_coro_yield(text);
        CHECK_EQ((uintptr_t)in, (uintptr_t)i);
        /* Our own locals survived the round trip through the heap. */
        char again[64];
        snprintf(again, sizeof again, "coroutine %lu",
                 (unsigned long)(uintptr_t)arg);
        CHECK_STREQ(text, again);
    }
    return arg;
}

static void test_shrink(void)
{
    enum { N = 64 };
    cio_coro_t *co[N];
    for (int i = 0; i < N; i++) {
        CHECK_EQ(cio_coro_create(&co[i], keeper, (void *)(uintptr_t)i, 0), 0);
        /* A coroutine that never ran can be shrunk too. */
        if (i % 4 == 0)
            CHECK_EQ(cio_coro_shrink(co[i]), 0);
        void *got;
        CHECK_EQ(cio_coro_switch(co[i], NULL, &got), 0);
        char want[64];
        snprintf(want, sizeof want, "coroutine %d", i);
        CHECK_STREQ((char *)got, want);
    }
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < N; i++) {
            size_t before = cio_coro_footprint(co[i]);
            CHECK(before >= 4096);
            CHECK_EQ(cio_coro_shrink(co[i]), 0);
            CHECK_EQ(cio_coro_shrink(co[i]), 0); /* twice is fine */
            size_t after = cio_coro_footprint(co[i]);
#ifndef UNDER_ASAN
            CHECK(after < 2048); /* under 512 with the assembly switch */
#endif
            CHECK(after < before);
        }
        for (int i = 0; i < N; i++) {
            void *got;
            CHECK_EQ(cio_coro_switch(co[i], (void *)(uintptr_t)round, &got), 0);
            if (round < 4) {
                char want[64];
                snprintf(want, sizeof want, "coroutine %d", i);
                CHECK_STREQ((char *)got, want);
            } else {
                CHECK(cio_coro_done(co[i]));
                CHECK_EQ((uintptr_t)got, (uintptr_t)i);
            }
        }
    }
    /* The running coroutine cannot be shrunk. */
    CHECK_EQ(cio_coro_shrink(cio_coro_current()), -EINVAL); /* the root */
    for (int i = 0; i < N; i++)
        cio_coro_free(co[i]);
}

static void *self_shrink(void *arg)
{
    return (void *)(intptr_t)cio_coro_shrink(cio_coro_current());
}

static void test_shrink_running(void)
{
    cio_coro_t *co;
    void *got;
    CHECK_EQ(cio_coro_create(&co, self_shrink, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
    CHECK_EQ((intptr_t)got, -EBUSY);
    /* Freeing a shrunk, suspended coroutine releases its copy. */
    cio_coro_t *k;
    CHECK_EQ(cio_coro_create(&k, keeper, (void *)1, 0), 0);
    CHECK_EQ(cio_coro_switch(k, NULL, NULL), 0);
    CHECK_EQ(cio_coro_shrink(k), 0);
    cio_coro_free(k);
    cio_coro_free(co);
}

int main(void)
{
    test_recursion();
    test_shrink();
    test_shrink_running();
    printf("coro_stack: ok\n");
    return 0;
}
