/* Coroutine stacks.
 *
 * vm.max_map_count (65530 by default) limits a process to about 32k stacks
 * with a guard page each, since every guard splits a mapping in two. So
 * stacks are carved from regions of about 16 MiB: each slot is one guard zone
 * page followed by the usable stack. The first slot's guard zone is always
 * PROT_NONE (the region's guard); the next GUARD_BUDGET slots carved in the
 * process get theirs protected too (CIO_CORO_GUARD_PAGES in the environment
 * changes that number). Beyond that budget a guard zone is plain
 * memory that is never written: its top CIO__CANARY_BYTES must read zero, and
 * the coroutine code checks them on every switch away and on free. The zone
 * also absorbs up to a page of overflow before a neighbour is touched.
 * Regions are mapped MAP_NORESERVE: untouched stack pages cost nothing. */
#include "coro/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coro/coro_int.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CIO_VALGRIND 1
#endif
#endif

#if CIO_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define REGION_BYTES (16u << 20)
#define GUARD_BUDGET 8192 /* default for CIO_CORO_GUARD_PAGES */
#define MIN_STACK (16u * 1024u)
/* Stacks given back are trimmed in batches, neighbours with one madvise. */
#define DIRTY_BATCH 1024

/* Free stacks and the region being carved, for one stack size. */
struct size_class {
    size_t size;             /* usable bytes of its stacks */
    struct cio__stack *free; /* stacks given back, pages dropped */
    size_t nfree, cap;       /* entries used and allocated in free */
    struct cio__stack dirty[DIRTY_BATCH]; /* given back, pages not dropped */
    size_t ndirty;                        /* entries used in dirty */
    char *region;                         /* region being carved, or NULL */
    size_t next, nslots; /* next slot to carve, slots in region */
};

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct size_class **classes; /* guarded by pool_lock */
static size_t nclasses;             /* guarded by pool_lock */
static atomic_uint guarded_count;   /* slots protected beyond region guards */
static atomic_int warned;           /* the out-of-memory message was printed */
static long guard_budget = -1;      /* per-stack guard pages allowed */

static size_t page_size(void)
{
    static atomic_size_t page; /* cached; racing writers store the same */
    size_t size = atomic_load_explicit(&page, memory_order_relaxed);
    if (!size) {
        size = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&page, size, memory_order_relaxed);
    }
    return size;
}

size_t cio__stack_round(size_t size)
{
    size_t page = page_size();
    if (size < MIN_STACK)
        size = MIN_STACK;
    if (size > SIZE_MAX / 2)
        return 0;
    return (size + page - 1) & ~(page - 1);
}

static struct size_class *class_for(size_t size)
{
    for (size_t i = 0; i < nclasses; i++)
        if (classes[i]->size == size)
            return classes[i];
    struct size_class **grown =
        realloc(classes, (nclasses + 1) * sizeof *classes);
    if (!grown)
        return NULL;
    classes = grown;
    struct size_class *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->size = size;
    classes[nclasses++] = c;
    return c;
}

/* Counts our mappings, to tell "out of mappings" from "out of memory". */
static bool near_map_limit(void)
{
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long limit = 65530, lines = 0;
    if (f) {
        if (fscanf(f, "%ld", &limit) != 1)
            limit = 65530;
        fclose(f);
    }
    f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    for (int ch; (ch = getc(f)) != EOF;)
        lines += ch == '\n';
    fclose(f);
    return lines + 16 >= limit;
}

static int map_failed(size_t bytes)
{
    int err = near_map_limit() ? -EAGAIN : -ENOMEM;
    if (!atomic_exchange(&warned, 1))
        fprintf(stderr, "corio: cannot map %zu bytes of coroutine stacks: %s\n",
                bytes,
                err == -EAGAIN ? "out of memory mappings (vm.max_map_count)"
                               : "out of memory");
    return err;
}

static int new_region(struct size_class *c)
{
    size_t page = page_size(), slot = c->size + page;
    size_t nslots = REGION_BYTES / slot ? REGION_BYTES / slot : 1;
    size_t bytes = nslots * slot;
    char *base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED)
        return map_failed(bytes);
    /* Huge pages would make each touched stack cost 2 MiB. */
    madvise(base, bytes, MADV_NOHUGEPAGE);
    if (mprotect(base, page, PROT_NONE) != 0) {
        munmap(base, bytes);
        return map_failed(bytes);
    }
    c->region = base;
    c->next = 0;
    c->nslots = nslots;
    return 0;
}

/* Carves the next slot of the class's region (pool_lock held). */
static int carve(struct size_class *c, struct cio__stack *out)
{
    size_t page = page_size();
    if (!c->region || c->next == c->nslots) {
        int rc = new_region(c);
        if (rc)
            return rc;
    }
    char *slot = c->region + c->next * (c->size + page);
    out->lo = slot + page;
    out->size = c->size;
    out->guarded = c->next == 0;
    out->vg_id = 0;
    c->next++;
    if (guard_budget < 0) {
        const char *env = getenv("CIO_CORO_GUARD_PAGES");
        guard_budget = env && *env ? atol(env) : GUARD_BUDGET;
    }
    if (!out->guarded && atomic_load(&guarded_count) < guard_budget &&
        mprotect(slot, page, PROT_NONE) == 0) {
        atomic_fetch_add(&guarded_count, 1);
        out->guarded = 1;
    }
#ifdef CIO_VALGRIND
    out->vg_id = VALGRIND_STACK_REGISTER(out->lo, out->lo + out->size);
#endif
    return 0;
}

int cio__stack_alloc(size_t size, struct cio__stack *out)
{
    int rc = -ENOMEM;
    cio__overflow_install();
    pthread_mutex_lock(&pool_lock);
    struct size_class *c = class_for(size);
    if (c && c->ndirty) {
        *out = c->dirty[--c->ndirty]; /* warm pages first */
        rc = 0;
    } else if (c && c->nfree) {
        *out = c->free[--c->nfree];
        rc = 0;
    } else if (c) {
        rc = carve(c, out);
    }
    pthread_mutex_unlock(&pool_lock);
    return rc;
}

void cio__stack_drop_pages(const struct cio__stack *st)
{
    madvise(st->lo, st->size, MADV_DONTNEED);
}

static int by_address(const void *a, const void *b)
{
    const char *x = ((const struct cio__stack *)a)->lo;
    const char *y = ((const struct cio__stack *)b)->lo;
    return (x > y) - (x < y);
}

/* Drops the pages of all dirty stacks, adjacent ones in one call (the guard
 * zones between them are PROT_NONE or must read zero anyway), and moves them
 * to the free list (pool_lock held). */
static void trim(struct size_class *c)
{
    size_t page = page_size(), slot = c->size + page;
    if (c->cap - c->nfree < c->ndirty) {
        size_t cap = c->cap ? c->cap * 2 : 4 * DIRTY_BATCH;
        while (cap - c->nfree < c->ndirty)
            cap *= 2;
        struct cio__stack *grown = realloc(c->free, cap * sizeof *grown);
        if (!grown)
            return; /* stay dirty: still usable, only not trimmed */
        c->free = grown;
        c->cap = cap;
    }
    qsort(c->dirty, c->ndirty, sizeof c->dirty[0], by_address);
    for (size_t i = 0; i < c->ndirty;) {
        size_t j = i + 1;
        while (j < c->ndirty && c->dirty[j].lo == c->dirty[j - 1].lo + slot)
            j++;
        char *from = c->dirty[i].lo;
        madvise(from, (size_t)(c->dirty[j - 1].lo + c->size - from),
                MADV_DONTNEED);
        for (; i < j; i++)
            c->free[c->nfree++] = c->dirty[i];
    }
    c->ndirty = 0;
}

void cio__stack_release(struct cio__stack *st)
{
#if CIO_ASAN
    /* Frames that never returned leave poisoned shadow behind. */
    __asan_unpoison_memory_region(st->lo, st->size);
#endif
    pthread_mutex_lock(&pool_lock);
    struct size_class *c = class_for(st->size);
    if (c && c->ndirty == DIRTY_BATCH)
        trim(c);
    if (c && c->ndirty < DIRTY_BATCH)
        c->dirty[c->ndirty++] = *st;
    else
        cio__stack_drop_pages(st); /* leaked: its addresses stay reserved */
    pthread_mutex_unlock(&pool_lock);
}
