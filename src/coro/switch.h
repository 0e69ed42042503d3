/* The context switch underneath the coroutines: save the callee-saved state
 * of the running stack, resume another one. Assembly per architecture
 * (src/arch/switch-*.S), or ucontext where there is none. */
#ifndef CIO_CORO_SWITCH_H
#define CIO_CORO_SWITCH_H

#include <stddef.h>

#if CIO_USE_UCONTEXT
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

static inline void *cio__switch(cio__ctx *from, cio__ctx *to, void *value,
                                int shared_fpu)
{
    if (shared_fpu)
        return cio__switch_value_shared(&from->sp, to->sp, value, NULL);
    return cio__switch_value(&from->sp, to->sp, value, NULL);
}
#endif

/* Prepares ctx so that the first switch to it calls
 * cio__coro_start(co, value) on the stack [lo, lo + size). */
__attribute__((visibility("hidden"))) void
cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size);

/* Lowest live stack address of a suspended context. */
__attribute__((visibility("hidden"))) char *cio__ctx_sp(const cio__ctx *ctx);

/* Runs a coroutine from its first switch to its end (coro.c). */
__attribute__((visibility("hidden"))) _Noreturn void
cio__coro_start(void *co, void *value);

#endif
