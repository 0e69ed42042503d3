/* The context switch underneath the coroutines: save the callee-saved state
 * of the running stack, resume another one. Assembly per architecture
 * (src/arch/switch-*.S), or ucontext where there is none. */
#ifndef CIO_CORO_SWITCH_H
#define CIO_CORO_SWITCH_H

#include <stddef.h>

#if CIO_USE_UCONTEXT
#define CIO_SWITCH_START 0
#include <ucontext.h>
typedef struct cio__ctx {
    ucontext_t uc; /* registers saved by swapcontext */
    char *sp_hint; /* at or below the lowest live byte while suspended */
} cio__ctx;
__attribute__((visibility("hidden"))) void *
cio__switch(cio__ctx *from, cio__ctx *to, void *value, int shared_fpu);
#else
typedef struct cio__ctx {
    void *sp; /* stack pointer, registers saved just above it */
} cio__ctx;

/* Saves the running context on its stack and its sp in *save_sp, resumes
 * the context saved at resume_sp. Back in a context that passed received ==
 * NULL, returns the value of the switch that resumed it; otherwise stores
 * that value in *received and returns 0 (see src/arch/switch-*.S). */
__attribute__((visibility("hidden"))) void *cio__switch_value(void **save_sp,
                                                              void *resume_sp,
                                                              void *value,
                                                              void **received);
__attribute__((visibility("hidden"))) int cio__switch_status(void **save_sp,
                                                             void *resume_sp,
                                                             void *value,
                                                             void **received);

/* The same, leaving the FPU control words alone (see switch-x86_64.S). */
__attribute__((visibility("hidden"))) void *
cio__switch_value_shared(void **save_sp, void *resume_sp, void *value,
                         void **received);
__attribute__((visibility("hidden"))) int
cio__switch_status_shared(void **save_sp, void *resume_sp, void *value,
                          void **received);

#if defined(__x86_64__)
#define CIO_SWITCH_START 1
/* The first switch into a coroutine: saves the running context as
 * cio__switch_status does, then runs fn(value) at stack_top (16-byte
 * aligned) and cio__coro_finish(co, result); nothing is written at create. */
__attribute__((visibility("hidden"))) int
cio__switch_start(void **save_sp, void *stack_top, void *value, void **received,
                  void *co, void *(*fn)(void *));
__attribute__((visibility("hidden"))) int
cio__switch_start_shared(void **save_sp, void *stack_top, void *value,
                         void **received, void *co, void *(*fn)(void *));

/* The last switch of a finished coroutine: resumes resume_sp with value,
 * saving nothing of the dead stack it leaves. */
__attribute__((visibility("hidden"))) _Noreturn void
cio__switch_exit(void *resume_sp, void *value);
__attribute__((visibility("hidden"))) _Noreturn void
cio__switch_exit_shared(void *resume_sp, void *value);
#else
#define CIO_SWITCH_START 0
#endif

static inline void *cio__switch(cio__ctx *from, cio__ctx *to, void *value,
                                int shared_fpu)
{
    if (shared_fpu)
        return cio__switch_value_shared(&from->sp, to->sp, value, NULL);
    return cio__switch_value(&from->sp, to->sp, value, NULL);
}
#endif

#if CIO_USE_UCONTEXT
/* Prepares ctx so that the first switch to it calls
 * cio__coro_start(co, value) on the stack [lo, lo + size). */
__attribute__((visibility("hidden"))) void
cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size);

/* Lowest live stack address of a suspended context. */
__attribute__((visibility("hidden"))) char *cio__ctx_sp(const cio__ctx *ctx);
#else
#include <stdint.h>
/* cio__ctx_init prepares ctx so that the first switch to it calls
 * cio__coro_start(co, value) on the stack [lo, lo + size): it lays out the
 * frame that the assembly pops. cio__ctx_sp is the lowest live stack
 * address of a suspended context. */

/* Entry stub in the .S file: calls cio__coro_start(co, first value). */
__attribute__((visibility("hidden"))) void cio__trampoline(void);

#if defined(__x86_64__)
/* Frame popped by cio__switch_value, lowest address first. */
enum {
    F_FPU,
    F_R15,
    F_R14,
    F_R13,
    F_R12,
    F_RBX,
    F_RBP,
    F_RECEIVED,
    F_RET,
    F_WORDS
};

static inline void cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size)
{
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
    /* After the pops rsp is top - 16: 16-byte aligned at the call. */
    uint64_t *f = (uint64_t *)(top - 16) - F_WORDS;
    /* Marker for "inherit the control words" (see switch-x86_64.S). */
    f[F_FPU] = 0x80000000u;
    f[F_R15] = f[F_R14] = f[F_R13] = f[F_R12] = 0;
    f[F_RBX] = (uint64_t)(uintptr_t)co;
    f[F_RBP] = 0;
    f[F_RECEIVED] = 0; /* the first value arrives in rax */
    f[F_RET] = (uint64_t)(uintptr_t)cio__trampoline;
    ((uint64_t *)(top - 16))[0] = 0;
    ((uint64_t *)(top - 16))[1] = 0;
    ctx->sp = f;
}

#elif defined(__aarch64__)
/* Frame popped by cio__switch_value, in 8-byte words from sp. */
enum {
    F_X19,
    F_X20,
    F_X21,
    F_X22,
    F_X23,
    F_X24,
    F_X25,
    F_X26,
    F_X27,
    F_X28,
    F_X29,
    F_X30,
    F_D8,
    F_D15 = F_D8 + 7,
    F_FPCR,
    F_RECEIVED, /* 0: the first value arrives in x0 */
    F_WORDS
};

static inline void cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size)
{
    uintptr_t top = ((uintptr_t)(lo + size)) & ~(uintptr_t)15;
    uint64_t *f = (uint64_t *)(top - 16) - F_WORDS;
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    for (int i = 0; i < F_WORDS; i++)
        f[i] = 0;
    f[F_X19] = (uint64_t)(uintptr_t)co;
    f[F_X30] = (uint64_t)(uintptr_t)cio__trampoline;
    f[F_FPCR] = fpcr;
    ((uint64_t *)(top - 16))[0] = 0;
    ((uint64_t *)(top - 16))[1] = 0;
    ctx->sp = f;
}
#else
#error "no initial frame for this architecture: build with CIO_USE_UCONTEXT=1"
#endif

static inline char *cio__ctx_sp(const cio__ctx *ctx)
{
    return ctx->sp;
}
#endif

/* Runs a coroutine from its first switch to its end (finish.c). */
__attribute__((visibility("hidden"))) _Noreturn void
cio__coro_start(void *co, void *value);

/* Ends a coroutine whose entry function returned result (finish.c). */
__attribute__((visibility("hidden"))) _Noreturn void
cio__coro_finish(void *co, void *result);

#endif
