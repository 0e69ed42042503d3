/* Initial contexts: what the first switch into a new coroutine resumes. The
 * assembly switches pop a frame laid out by cio__ctx_init below; the
 * ucontext fallback builds one with makecontext. */
#include "coro/coro_int.h"

#include <stdint.h>

#if CIO_USE_UCONTEXT

#include <stdlib.h>

static _Thread_local void *uc_value; /* value carried across swapcontext */

static void uc_entry(void)
{
    cio__coro_start(cio__coro_running(), uc_value);
}

void *cio__switch(cio__ctx *from, cio__ctx *to, void *value, int shared_fpu)
{
    (void)shared_fpu; /* swapcontext always saves the FPU environment */
    char probe;
    /* swapcontext keeps the registers in the ucontext: only its own small
     * frame lies below ours. */
    from->sp_hint = (char *)((uintptr_t)&probe - 256);
    uc_value = value;
    if (swapcontext(&from->uc, &to->uc) != 0)
        abort();
    return uc_value;
}

void cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size)
{
    (void)co;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
    makecontext(&ctx->uc, uc_entry, 0);
    ctx->sp_hint = lo + size - 1024;
}

char *cio__ctx_sp(const cio__ctx *ctx)
{
    return ctx->sp_hint;
}

#else

/* Entry stub in the .S file: calls cio__coro_start(co, first value). */
__attribute__((visibility("hidden"))) void cio__trampoline(void);

#if defined(__x86_64__)
/* Frame popped by cio__switch_asm, lowest address first. */
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

void cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size)
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
/* Frame popped by cio__switch_asm, in 8-byte words from sp. */
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
    F_PAD,
    F_WORDS
};

void cio__ctx_init(cio__ctx *ctx, void *co, char *lo, size_t size)
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

char *cio__ctx_sp(const cio__ctx *ctx)
{
    return ctx->sp;
}

#endif
