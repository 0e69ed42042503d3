/* Copied stacks (libaco's design): coroutines that take turns on shared
 * stacks. The one whose frames are on a stack (its occupant) runs there or
 * waits there; the others keep their live frames, typically a few hundred
 * bytes, in a heap buffer of their own, and get them copied back to the
 * same addresses before they run. A waiting coroutine so costs its frames
 * instead of a stack page. Frames are only copied when another coroutine
 * of the same stack needs it: a coroutine that switches to the hub and
 * back copies nothing, nor one alone on its stack. A thread has up to
 * SSTACKS of them and gives each new coroutine one that no other uses if
 * it can: up to that many live coroutines never copy, and past it the
 * stacks' pages are a fixed cost shared by all.
 *
 * Switching between two coroutines of one stack cannot copy on that stack:
 * it goes through the thread's copier, a coroutine on a stack of its own
 * (hop.c), which moves the frames and goes on to the target. */
#include "coro/coro_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Under valgrind the bytes below a stack's last stack pointer are not
 * addressable: frames copied back there must be declared first. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define WRITABLE(p, n) VALGRIND_MAKE_MEM_UNDEFINED(p, n)
#else
#define WRITABLE(p, n) 0
#endif

char cio__no_frames[8];

static _Noreturn void out_of_memory(size_t len)
{
    char msg[96];
    int n = snprintf(msg, sizeof msg,
                     "corio: no memory to keep %zu bytes of a waiting "
                     "coroutine's frames\n",
                     len);
    ssize_t unused = write(STDERR_FILENO, msg, (size_t)n);
    (void)unused;
    abort();
}

/* The frame buffer's size for len bytes of frames: exact to 16 bytes
 * (malloc's own granularity); kept while the frames stay between half its
 * size and its size, so a task that waits in the same place again
 * reallocates nothing. */
static inline bool buffer_fits(size_t cap, size_t len)
{
    return len <= cap && len >= cap / 2;
}

int cio__copied_busy(const cio_coro_t *to)
{
    const struct cio__sstack *s = to->shared;
    return s->pinned && s->pinned != to ? -EBUSY : 0;
}

/* move_out of frames of a new length, len bytes at sp: a buffer they fit,
 * and saved_len, which then tells move_out that the next frames of that
 * length fit too. Apart, so that the common case calls only memcpy. */
static __attribute__((noinline)) void move_out_new(cio_coro_t *occ,
                                                   const char *sp, size_t len)
{
    occ->saved_len = len;
    if (!buffer_fits(occ->copy_cap, len)) {
        if (!occ->copy_cap) /* copy_buf shared its place with fn */
            occ->copy_buf = NULL;
        size_t cap = (len + 15) & ~(size_t)15;
        char *buf = realloc(occ->copy_buf, cap ? cap : 16);
        if (!buf)
            out_of_memory(len);
        occ->copy_buf = buf;
        occ->copy_cap = cap;
    }
    occ->saved = occ->copy_buf;
    memcpy(occ->copy_buf, sp, len);
}

/* Copies the occupant's frames out to its buffer, unless it finished; it
 * stays the occupant until the next comes in. An occupant has run, so it
 * has frames; the buffer that last took frames of the same length takes
 * these (saved_len is that length). */
static inline void move_out(struct cio__sstack *s)
{
    cio_coro_t *occ = s->occupant;
    if (!occ || occ->state == CIO__CORO_DONE)
        return;
    char *sp = cio__ctx_sp(&occ->ctx);
    size_t len = (size_t)(s->top - sp);
    if (UNLIKELY(len != occ->saved_len)) {
        move_out_new(occ, sp, len);
        return;
    }
    occ->saved = occ->copy_buf;
    memcpy(occ->copy_buf, sp, len);
}

/* Under memcheck the bytes below a stack's last stack pointer are not
 * addressable: frames copied back there are declared first. */
static __attribute__((noinline)) void make_writable(char *p, size_t len)
{
    (void)WRITABLE(p, len);
}

/* Copies to's frames back to where they were (the stack knows whether a
 * tool tracks its bytes). */
static inline void move_in(struct cio__sstack *s, cio_coro_t *to)
{
    if (UNLIKELY(s->tracked))
        make_writable(s->top - to->saved_len, to->saved_len);
    size_t len = to->saved_len;
    char *dst = s->top - len;
    const char *frames = to->saved;
    to->saved = NULL;
    s->occupant = to;
    memcpy(dst, frames, len);
}

void cio__copied_move(cio_coro_t *to)
{
    move_out(to->shared);
    move_in(to->shared, to);
}

#if FRESH_START
/* cio__copied_resume in every case. */
static int resume_any(cio_coro_t *from, cio_coro_t *to)
{
    /* A running coroutine's frames are on its stack: from runs on to's
     * stack if it is its occupant. */
    struct cio__sstack *s = to->shared;
    if (UNLIKELY(s->occupant == from || s->pinned))
        return cio_coro_switch(to, NULL, NULL);
    move_out(s);
    move_in(s, to);
    return cio__coro_enter(from, to);
}

#if defined(__x86_64__)
/* With AVX, frames of 128 to 255 bytes (216 for a task waiting in a
 * read) are copied inline, as two runs of four 32-byte moves that
 * overlap: one from the bottom, one to the top. A call to memcpy costs as
 * many instructions again in getting to its own moves. */
typedef char block32 __attribute__((vector_size(32), aligned(1), may_alias));

static inline __attribute__((always_inline)) void copy_block(char *dst,
                                                             const char *src)
{
    const block32 *s = (const block32 *)src;
    block32 *d = (block32 *)dst;
    block32 a = s[0], b = s[1], c = s[2], e = s[3];
    d[0] = a, d[1] = b, d[2] = c, d[3] = e;
}

static inline __attribute__((always_inline)) void
copy_frames(char *dst, const char *src, size_t len)
{
    copy_block(dst, src);
    copy_block(dst + len - 128, src + len - 128);
}

/* cio__copied_resume where the CPU has AVX. The common case, checked
 * first: another coroutine's frames to move out, in the buffer that took
 * frames of their length last time, both lengths in copy_frames' range,
 * no pin, no tool tracking the stack. It makes no call but its last jump,
 * so it keeps nothing in saved registers; the rest goes to resume_any. */
static __attribute__((target("avx"))) int resume_avx(cio_coro_t *from,
                                                     cio_coro_t *to)
{
    struct cio__sstack *s = to->shared;
    cio_coro_t *occ = s->occupant;
    size_t in = to->saved_len;
    if (UNLIKELY(!occ || occ == from || occ->state == CIO__CORO_DONE ||
                 s->pinned || s->tracked || in - 128 >= 128))
        return resume_any(from, to);
    char *sp = cio__ctx_sp(&occ->ctx);
    size_t out = (size_t)(s->top - sp);
    if (UNLIKELY(out != occ->saved_len || out - 128 >= 128))
        return resume_any(from, to);
    occ->saved = occ->copy_buf;
    copy_frames(occ->copy_buf, sp, out);
    const char *frames = to->saved;
    to->saved = NULL;
    s->occupant = to;
    copy_frames(s->top - in, frames, in);
    return cio__coro_enter(from, to);
}

/* Set once as the program loads, before any thread could read it. */
static __attribute__((constructor)) void pick_resume(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx"))
        cio__copied_resume = resume_avx;
}
#endif

int (*cio__copied_resume)(cio_coro_t *from, cio_coro_t *to) = resume_any;
#endif

int cio__copied_bring_in(const cio_coro_t *from, cio_coro_t *to)
{
    /* A running coroutine of that stack (even one that just finished: it
     * still runs on it until it leaves) is its occupant. */
    if (from->copied && from->shared == to->shared)
        return 1;
    cio__copied_move(to);
    return 0;
}

void cio__copied_detach(cio_coro_t *co)
{
    struct cio__sstack *s = co->shared;
    if (s->occupant == co)
        s->occupant = NULL;
    if (s->pinned == co)
        s->pinned = NULL;
    if (co->copy_cap)
        free(co->copy_buf);
    co->copy_cap = 0;
    co->saved = NULL;
}

int cio__copied_shrink(cio_coro_t *co)
{
    struct cio__sstack *s = co->shared;
    if (s->pinned == co)
        return -EBUSY;
    if (s->occupant == co) {
        move_out(s);
        s->occupant = NULL;
    }
    return 0;
}

#if FRESH_START
/* A shared stack of size bytes for a slot of t, or NULL. */
static struct cio__sstack *sstack_new(struct cio__thread *t, size_t size)
{
    struct cio__sstack *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (cio__stack_alloc(size, &s->stack)) {
        free(s);
        return NULL;
    }
    s->top = s->stack.lo + s->stack.size;
    s->tracked = WRITABLE(s->stack.lo, 0) != 0;
    s->users = 1;
    s->owner = t;
    return s;
}

/* The shared stack for the next copied coroutine: one that no coroutine
 * uses if there is one, else a new one while there are fewer than
 * SSTACKS, else the first SSTACKS_TURNS in turn: with many coroutines,
 * copies go to a few stacks whose tops stay in the cache. A stack too
 * small for size leaves its slot to a new one and stays with its users. */
static struct cio__sstack *sstack_get(struct cio__thread *t, size_t size)
{
    while (t->sstack_idle) { /* too small ones are dropped from it */
        struct cio__sstack *s = t->sstack_idle;
        t->sstack_idle = s->idle_next;
        s->idle = false;
        if (s->stack.size >= size)
            return s;
    }
    if (!t->sstacks && !(t->sstacks = calloc(SSTACKS, sizeof *t->sstacks)))
        return NULL;
    unsigned i =
        t->nsstacks < SSTACKS ? t->nsstacks : t->sstack_next++ % SSTACKS_TURNS;
    struct cio__sstack *s = t->sstacks[i];
    if (s && s->stack.size >= size)
        return s;
    if (s) { /* not on the idle list: it is empty here */
        s->owner = NULL;
        cio__sstack_unref(s);
        t->sstacks[i] = NULL;
    }
    if (!(s = sstack_new(t, size)))
        return NULL;
    t->sstacks[i] = s;
    if (i == t->nsstacks)
        t->nsstacks++;
    return s;
}
#endif

void cio__sstack_unref(struct cio__sstack *s)
{
    if (!--s->users) {
        cio__stack_release(&s->stack);
        free(s);
        return;
    }
    /* Its slot alone holds it: the next new coroutine gets it (its owner
     * only: the list is the owner thread's). */
    if (s->users == 1 && s->owner == &cio__tls_thread && !s->idle) {
        s->idle = true;
        s->idle_next = s->owner->sstack_idle;
        s->owner->sstack_idle = s;
    }
}

int cio__coro_create_copied(cio_coro_t **out, cio_coro_cb fn, void *arg,
                            size_t stack_size, size_t room)
{
#if FRESH_START
    if (UNLIKELY(!out || !fn || room > UINT16_MAX - 15))
        return -EINVAL;
    room = (room + 15) & ~(size_t)15;
    struct cio__thread *t = cio__thread_get();
    if (!t->copier) {
        int rc = cio__copier_new(t);
        if (rc)
            return rc;
    }
    size_t size = stack_size ? cio__stack_round(stack_size) : 0;
    struct cio__sstack *s =
        sstack_get(t, size > SSTACK_MIN ? size : SSTACK_MIN);
    /* No alignment: memory is what this mode is for. Its frames get a
     * buffer of their size when they first leave the stack. */
    cio_coro_t *co = s ? malloc(HEAD_BYTES + room) : NULL;
    if (!co)
        return -ENOMEM;
    co->room = (uint16_t)room;
    s->users++;
    co->stack = s->stack;
    co->shared = s;
    co->copied = 1;
    co->copy_cap = 0;           /* copy_buf shares its place with fn */
    co->saved = cio__no_frames; /* not on the stack yet */
    co->saved_len = 0;
    co->name = NULL;
    co->name_static = 0;
    co->is_root = 0;
#if CIO_TSAN
    co->tsan_fiber = NULL;
#endif
    cio__coro_setup(co, t, fn, arg);
    *out = co;
    return 0;
#else
    return cio__coro_create_room(out, fn, arg, stack_size, room);
#endif
}

void cio__copied_release(cio_coro_t *co)
{
    struct cio__sstack *s = co->shared;
    cio__copied_detach(co);
    free(co);
    cio__sstack_unref(s);
}

void cio__coro_pin(cio_coro_t *co, bool on)
{
    if (co->copied && (on || co->shared->pinned == co))
        co->shared->pinned = on ? co : NULL;
}

bool cio__coro_blocked(const cio_coro_t *co)
{
    return co->copied && co->saved && cio__copied_busy(co);
}
