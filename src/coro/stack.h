/* Coroutine stacks: carved from large mmap'ed regions so that a million of
 * them fit under vm.max_map_count (see docs/coro.md). */
#ifndef CIO_CORO_STACK_H
#define CIO_CORO_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes at the top of a stack's guard zone that must stay zero when the zone
 * is not protected (the canary). */
#define CIO__CANARY_BYTES 64

struct cio__stack {
    char *lo;         /* lowest usable byte; the guard zone is the page below */
    size_t size;      /* usable bytes, a multiple of the page size */
    uint32_t guarded; /* 1: guard zone is PROT_NONE; 0: canary-checked */
    uint32_t vg_id;   /* valgrind's id for this stack */
};

/* The usable size for a request: page-rounded, at least 16 KiB. */
__attribute__((visibility("hidden"))) size_t cio__stack_round(size_t size);

/* Gets a stack of `size` (already rounded) from the shared pool or a region.
 * Returns 0, -ENOMEM (memory) or -EAGAIN (memory mappings). */
__attribute__((visibility("hidden"))) int
cio__stack_alloc(size_t size, struct cio__stack *out);

/* Gives a stack back to the shared pool, its pages to the kernel. */
__attribute__((visibility("hidden"))) void
cio__stack_release(struct cio__stack *st);

/* Gives the stack's pages back, keeping its addresses (they read as zero). */
__attribute__((visibility("hidden"))) void
cio__stack_drop_pages(const struct cio__stack *st);

/* True if the canary below an unguarded stack is intact. */
static inline bool cio__stack_canary_ok(const struct cio__stack *st)
{
    const uint64_t *c = (const uint64_t *)(st->lo - CIO__CANARY_BYTES);
    uint64_t any = 0;
    for (int i = 0; i < CIO__CANARY_BYTES / 8; i++)
        any |= c[i];
    return any == 0;
}

#endif
