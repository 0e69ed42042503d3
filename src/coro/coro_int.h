/* Private view of a coroutine, shared by the files of src/coro. */
#ifndef CIO_CORO_INT_H
#define CIO_CORO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corio/coro.h"
#include "coro/room.h"
#include "coro/stack.h"
#include "coro/switch.h"

#if defined(__SANITIZE_ADDRESS__)
#define CIO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CIO_ASAN 1
#endif
#endif
#ifndef CIO_ASAN
#define CIO_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define CIO_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CIO_TSAN 1
#endif
#endif
#ifndef CIO_TSAN
#define CIO_TSAN 0
#endif

#define CIO_HIDDEN __attribute__((visibility("hidden")))

enum cio__coro_state {
    CIO__CORO_NEW,       /* created, never switched to */
    CIO__CORO_SUSPENDED, /* started, waiting in a switch (or running) */
    CIO__CORO_DONE,      /* entry function returned */
};

struct cio__thread;

/* What a switch reads comes first, in one cache line: with thousands of
 * coroutines, the one resumed is cold. */
struct cio_coro {
    cio__ctx ctx;               /* saved registers while suspended (first) */
    struct cio__thread *thread; /* the thread state that owns it */
    cio_coro_t *parent;         /* who first switched to it; resumed at end */
    void *saved;                /* live stack copied out by cio_coro_shrink */
    struct cio__stack stack;    /* its stack (lo == NULL for a root) */
    uint8_t state;              /* enum cio__coro_state */
    uint8_t is_root;            /* 1 for a thread's root coroutine */
    uint8_t copied;             /* 1: runs on a shared stack (copied.c) */
    uint8_t name_static;        /* 1: name is not ours to free */
    uint8_t flag;               /* its owner's (room.h: cio__coro_flag) */
    uint16_t room;              /* bytes of the owner's room after the struct */
    /* colder; fields never needed at once share their place, so that the
     * struct is two cache lines and a room starts 128 bytes in: */
    union {
        cio_coro_cb fn; /* entry function, until it starts */
        char *copy_buf; /* copied: its frames while another runs there,
                           once copy_cap > 0 */
    };
    union {
        void *arg;    /* entry argument when the first value is NULL */
        void *result; /* entry function's return value once done */
    };
    void *data;       /* owner's pointer (cio_coro_set_data) */
    char *name;       /* heap copy of the debug name, or NULL */
    uint64_t id;      /* process-unique id, 0 until asked for */
    size_t saved_len; /* bytes in saved (top of stack down to sp) */
    union {
        cio_coro_t *next_free;      /* link in its thread's pool */
        struct cio__sstack *shared; /* copied: the stack it runs on */
    };
    size_t copy_cap; /* copied: bytes allocated at copy_buf */
#if CIO_TSAN
    void *tsan_fiber; /* ThreadSanitizer's state for this stack */
#endif
#if CIO_ASAN
    void *asan_fake;         /* ASan fake stack saved while switched out */
    const void *asan_bottom; /* root only: its stack bounds for ASan */
    size_t asan_size;        /* root only: its stack size for ASan */
#endif
};

#define POOL_CLASSES 4 /* stack sizes a thread keeps free coroutines for */
#define POOL_MAX 1024  /* free coroutines kept per size; more go shared */
#define ID_BLOCK 4096  /* ids a thread takes from the process at a time */
/* Shared stacks per thread for copied coroutines, at most: up to that
 * many coroutines each get one alone and never copy their frames. Past
 * that, new ones take turns on the first SSTACKS_TURNS, whose tops stay in
 * the cache. Each costs the pages its coroutines touched (one or two). */
#define SSTACKS 128
#define SSTACKS_TURNS 8
#define SSTACK_MIN (256 * 1024) /* their least size: it costs no memory */

/* The assembly switch can be the last act of cio_coro_switch and
 * cio_coro_yield (a tail call): it returns straight to their callers. */
#if CIO_ASAN || CIO_USE_UCONTEXT
#define TAIL_SWITCH 0
#else
#define TAIL_SWITCH 1
#endif

/* A new coroutine starts on its bare stack, and a finished one leaves
 * without saving anything (x86-64 assembly; elsewhere a frame is laid out
 * at create and the last switch saves into the dead stack). */
#define FRESH_START (TAIL_SWITCH && CIO_SWITCH_START)

#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLS _Thread_local __attribute__((tls_model("initial-exec")))

/* Freed coroutines of one stack size, stacks still attached. */
struct pool {
    size_t size;      /* usable stack bytes */
    cio_coro_t *head; /* linked by next_free */
    unsigned count;   /* coroutines in the list */
};

struct cio__thread {
    cio_coro_t root;                 /* the thread's own stack */
    struct pool pools[POOL_CLASSES]; /* free coroutines by stack size */
    uint64_t next_id, id_limit;      /* ids left in this thread's block */
    void *altstack;                  /* signal stack we installed, or NULL */
    cio_coro_t *came_from;           /* who switched last (ASan bounds) */
    void *scratch;                   /* receives values nobody asked for */
    int ready;                       /* 1 once initialised */
    int shared_fpu; /* 1: switches leave the FPU control words alone */
    /* Copied coroutines: their shared stacks (SSTACKS slots, allocated
     * on first use), those without a coroutine, and the copier, with what
     * it is to do (see copied.c). */
    struct cio__sstack **sstacks;
    unsigned nsstacks, sstack_next;
    struct cio__sstack *sstack_idle;
    cio_coro_t *copier;
    cio_coro_t *hop_to;
    void *hop_value;
    bool hop_fresh;
};

/* The thread's state (thread.c). */
CIO_HIDDEN extern TLS struct cio__thread cio__tls_thread;
/* Sets the thread's state up on its first coroutine call (thread.c). */
CIO_HIDDEN struct cio__thread *cio__thread_init(void);
/* The thread's state, set up on its first use. */
static inline struct cio__thread *cio__thread_get(void)
{
    if (UNLIKELY(!cio__tls_thread.ready))
        return cio__thread_init();
    return &cio__tls_thread;
}

/* A freed coroutine with size usable stack bytes from t's pools, or NULL
 * (thread.c). */
CIO_HIDDEN cio_coro_t *cio__pool_take(struct cio__thread *t, size_t size);
/* Keeps freed co in t's pools: false if they have no place for it. */
CIO_HIDDEN bool cio__pool_put(struct cio__thread *t, cio_coro_t *co);
/* Frees co and its stack (thread.c). */
CIO_HIDDEN void cio__coro_release(cio_coro_t *co);
/* Sets a new coroutine's fields for fn(arg) on thread t (create.c). */
CIO_HIDDEN void cio__coro_setup(cio_coro_t *co, struct cio__thread *t,
                                cio_coro_cb fn, void *arg);
/* Makes t's copier (hop.c); 0 or -errno. */
CIO_HIDDEN int cio__copier_new(struct cio__thread *t);
/* Copies a shrunk coroutine's frames back onto its stack (shrink.c). */
CIO_HIDDEN void cio__coro_unshrink(cio_coro_t *co);
/* Drops a reference to a shared stack, freed with the last (copied.c). */
CIO_HIDDEN void cio__sstack_unref(struct cio__sstack *s);
/* Frees a copied coroutine (copied.c). */
CIO_HIDDEN void cio__copied_release(cio_coro_t *co);

/* The coroutine's struct rounded to a cache line: its room starts there. */
#define HEAD_BYTES ((sizeof(cio_coro_t) + 63) & ~(size_t)63)

/* A stack that copied coroutines take turns on: the one running there, or
 * the last one that did, keeps its frames in place (the occupant); the
 * others keep theirs in their copy_buf, at most a few hundred bytes. */
struct cio__sstack {
    struct cio__stack stack;   /* its memory, like any coroutine stack */
    char *top;                 /* its end, where frames start */
    cio_coro_t *occupant;      /* whose frames are on it, or NULL */
    cio_coro_t *pinned;        /* keeps it while another thread uses them */
    unsigned users;            /* coroutines bound to it, +1 while in a slot */
    struct cio__thread *owner; /* whose slot holds it, or NULL */
    struct cio__sstack *idle_next; /* in owner's sstack_idle */
    bool idle;                     /* in owner's sstack_idle */
    bool tracked; /* a tool (memcheck) tracks the bytes below its sp */
};

/* Copied coroutines (copied.c). saved != NULL means "frames not on the
 * shared stack" for them, as it means "shrunk" for the others, so the fast
 * paths of a switch handle both with one test. */
CIO_HIDDEN extern char cio__no_frames[8]; /* saved of one with no frames */
/* -EBUSY if to's shared stack is pinned by another coroutine. */
CIO_HIDDEN int cio__copied_busy(const cio_coro_t *to);
/* Makes to's frames present on its stack, moving the occupant's out; from
 * is the running coroutine. 1 if from runs on that stack (a hop through
 * the thread's copier is needed), else 0. Aborts when out of memory. */
CIO_HIDDEN int cio__copied_bring_in(const cio_coro_t *from, cio_coro_t *to);
/* Moves the occupant of to's stack out and to's frames in (the copier's
 * part of a hop: the occupant is suspended or finished). */
CIO_HIDDEN void cio__copied_move(cio_coro_t *to);
/* cio__coro_resume of copied coroutine to, whose frames are off its stack,
 * from another stack: its frames in, then cio__coro_enter; through
 * cio_coro_switch if that stack is pinned or from runs on it. A pointer,
 * set as the program loads to the version for its CPU. */
CIO_HIDDEN extern int (*cio__copied_resume)(cio_coro_t *from, cio_coro_t *to);
/* The end of a resume whose frames are in place: to runs (resume.c). */
CIO_HIDDEN int cio__coro_enter(cio_coro_t *from, cio_coro_t *to);
/* Gives up co's place on its stack and its copy buffer (free). */
CIO_HIDDEN void cio__copied_detach(cio_coro_t *co);
/* cio_coro_shrink for a copied coroutine: its frames out, its buffer cut
 * to their size. */
CIO_HIDDEN int cio__copied_shrink(cio_coro_t *co);

/* The coroutine running on this thread, or NULL before first use (used by
 * the SIGSEGV handler, so it never initialises anything). */
CIO_HIDDEN cio_coro_t *cio__coro_running(void);

/* Stack overflow reporting (overflow.c). */
CIO_HIDDEN void cio__overflow_install(void);
CIO_HIDDEN void *cio__overflow_thread_init(void);
CIO_HIDDEN void cio__overflow_thread_fini(void *altstack);
CIO_HIDDEN _Noreturn void cio__overflow_report(const cio_coro_t *co);

/* Reports an overflow of co's unguarded stack that its canary shows. */
static inline void cio__coro_check_canary(const cio_coro_t *co)
{
    if (!co->stack.guarded && co->stack.lo && !cio__stack_canary_ok(&co->stack))
        cio__overflow_report(co);
}

#if !CIO_USE_UCONTEXT
#ifndef CIO_USE_UCONTEXT
/* cio__coro_saved_sp (room.h) reads the saved sp and the frames' copy. */
_Static_assert(offsetof(struct cio_coro, ctx) == 0 &&
                   offsetof(cio__ctx, sp) == 0 &&
                   offsetof(struct cio_coro, saved) == 3 * sizeof(void *),
               "a coroutine starts with its saved stack pointer, and its "
               "fourth word is the copy of its frames");
_Static_assert(offsetof(struct cio_coro, flag) == CIO__CORO_FLAG_AT,
               "cio__coro_flag reads the flag where it is");
#endif
_Static_assert(offsetof(struct cio_coro, fn) <= 64,
               "what a switch reads fits one cache line");
#endif

#endif
