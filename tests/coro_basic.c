/* The coroutine API: ping-pong with values both ways, the parent chain,
 * returning from the entry function, finished coroutines, names and data. */
#include <errno.h>
#include <stdint.h>

#include "corio.h"
#include "check.h"

#define V(n) ((void *)(uintptr_t)(n))
#define N(p) ((uintptr_t)(p))

static cio_coro_t *root;

/* Receives n, answers n * 2, until it receives 0; returns the sum. */
static void *doubler(void *arg)
{
    uintptr_t sum = 0, n = N(arg);
    while (n) {
        sum += n;
        CHECK(cio_coro_parent(cio_coro_current()) == root);
        n = N(cio_coro_yield(V(n * 2)));
    }
    return V(sum + 1000000);
}

static void test_ping_pong(void)
{
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, doubler, V(99), 0), 0);
    CHECK(cio_coro_parent(co) == NULL);
    CHECK(!cio_coro_done(co));
    void *got;
    /* A NULL first value starts the coroutine with the create argument. */
    CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
    CHECK_EQ(N(got), 198);
    CHECK(cio_coro_parent(co) == root);
    uintptr_t sum = 99;
    for (uintptr_t i = 1; i <= 1000; i++) {
        CHECK_EQ(cio_coro_switch(co, V(i), &got), 0);
        CHECK_EQ(N(got), i * 2);
        sum += i;
    }
    CHECK(!cio_coro_done(co));
    CHECK_EQ(cio_coro_switch(co, V(0), &got), 0);
    CHECK(cio_coro_done(co));
    CHECK_EQ(N(got), sum + 1000000);
    CHECK_EQ(N(cio_coro_result(co)), sum + 1000000);
    /* Switching to a finished coroutine is an error, not a crash. */
    CHECK_EQ(cio_coro_switch(co, V(1), &got), -ESRCH);
    CHECK_EQ(cio_coro_switch(co, V(1), NULL), -ESRCH);
    cio_coro_free(co);
}

/* Three levels: each starts a child and reports the parent chain. */
static void *level(void *arg)
{
    uintptr_t depth = N(arg);
    cio_coro_t *self = cio_coro_current();
    CHECK(self != root);
    if (depth == 3) {
        /* Yield goes to the parent (level 2), not to the root. */
        void *back = cio_coro_yield(V(300));
        CHECK_EQ(N(back), 301);
        return V(333);
    }
    cio_coro_t *child;
    CHECK_EQ(cio_coro_create(&child, level, V(depth + 1), 0), 0);
    void *got;
    CHECK_EQ(cio_coro_switch(child, NULL, &got), 0);
    CHECK(cio_coro_parent(child) == self);
    if (depth == 2) {
        CHECK_EQ(N(got), 300);
        CHECK(!cio_coro_done(child));
        CHECK_EQ(cio_coro_switch(child, V(301), &got), 0);
        CHECK_EQ(N(got), 333);
        CHECK(cio_coro_done(child));
        cio_coro_free(child);
        return V(222);
    }
    CHECK_EQ(N(got), 222);
    cio_coro_free(child);
    return V(111);
}

static void test_nesting(void)
{
    cio_coro_t *co;
    CHECK_EQ(cio_coro_create(&co, level, V(1), 32 * 1024), 0);
    void *got;
    CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
    CHECK_EQ(N(got), 111);
    CHECK(cio_coro_done(co));
    CHECK(cio_coro_current() == root);
    cio_coro_free(co);
}

/* A child whose parent finishes first returns to the grandparent. */
static cio_coro_t *orphan;
static void *orphan_body(void *arg)
{
    cio_coro_yield(V(1));
    return V(77);
}
static void *short_parent(void *arg)
{
    CHECK_EQ(cio_coro_create(&orphan, orphan_body, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(orphan, NULL, NULL), 0);
    return V(5);
}

static void test_dead_parent(void)
{
    cio_coro_t *p;
    void *got;
    CHECK_EQ(cio_coro_create(&p, short_parent, NULL, 0), 0);
    CHECK_EQ(cio_coro_switch(p, NULL, &got), 0);
    CHECK_EQ(N(got), 5);
    CHECK_EQ(cio_coro_switch(orphan, NULL, &got), 0);
    CHECK_EQ(N(got), 77);
    CHECK(cio_coro_current() == root);
    cio_coro_free(orphan);
    cio_coro_free(p);
}

static void *identity(void *arg)
{
    return arg;
}

static void *suspend_forever(void *arg)
{
    for (;;)
        cio_coro_yield(arg);
    return NULL;
}

static void test_misc(void)
{
    /* The root: its own parent is NULL, yield returns the value. */
    CHECK(cio_coro_parent(root) == NULL);
    CHECK_EQ(N(cio_coro_yield(V(7))), 7);
    CHECK_EQ(cio_coro_switch(root, V(8), NULL), 0);

    cio_coro_t *a, *b;
    CHECK_EQ(cio_coro_create(&a, identity, V(1), 0), 0);
    CHECK_EQ(cio_coro_create(&b, suspend_forever, V(2), 100000), 0);
    CHECK(cio_coro_id(a) != cio_coro_id(b));
    CHECK(cio_coro_id(a) != cio_coro_id(root));
    CHECK(cio_coro_id(a) != 0 && cio_coro_id(a) == cio_coro_id(a));
    CHECK_STREQ(cio_coro_name(a), "");
    cio_coro_set_name(a, "alpha");
    CHECK_STREQ(cio_coro_name(a), "alpha");
    cio_coro_set_name(a, "beta");
    CHECK_STREQ(cio_coro_name(a), "beta");
    CHECK(cio_coro_data(a) == NULL);
    int token;
    cio_coro_set_data(a, &token);
    CHECK(cio_coro_data(a) == &token);
    CHECK(cio_coro_result(a) == NULL);

    void *got;
    CHECK_EQ(cio_coro_switch(a, V(42), &got), 0); /* value overrides arg */
    CHECK_EQ(N(got), 42);
    CHECK(cio_coro_done(a));
    CHECK(cio_coro_data(a) == &token);
    CHECK_EQ(cio_coro_switch(b, NULL, &got), 0);
    CHECK_EQ(N(got), 2);
    CHECK(cio_coro_footprint(b) >= 4096);
    /* Freeing a suspended coroutine drops its stack. */
    cio_coro_free(b);
    cio_coro_free(a);
    cio_coro_free(root); /* ignored */
    cio_coro_free(NULL);

    /* Bad input. */
    CHECK_EQ(cio_coro_create(NULL, identity, NULL, 0), -EINVAL);
    CHECK_EQ(cio_coro_create(&a, NULL, NULL, 0), -EINVAL);
    CHECK_EQ(cio_coro_switch(NULL, NULL, NULL), -EINVAL);
    CHECK_EQ(cio_coro_create(&a, identity, NULL, SIZE_MAX), -ENOMEM);
    CHECK_STREQ(cio_strerror(-ESRCH), "No such process");
}

/* Pooled reuse: many create+run+free rounds keep working. */
static void test_reuse(void)
{
    for (uintptr_t i = 0; i < 20000; i++) {
        cio_coro_t *co;
        void *got;
        CHECK_EQ(cio_coro_create(&co, identity, V(i), 0), 0);
        CHECK_EQ(cio_coro_switch(co, NULL, &got), 0);
        CHECK_EQ(N(got), i);
        cio_coro_free(co);
    }
}

int main(void)
{
    root = cio_coro_current();
    CHECK(root != NULL);
    CHECK(!cio_coro_done(root));
    test_ping_pong();
    test_nesting();
    test_dead_parent();
    test_misc();
    test_reuse();
    CHECK(cio_coro_current() == root);
    printf("coro_basic: ok\n");
    return 0;
}
