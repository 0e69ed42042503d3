/* The portable switch, for targets without one in src/arch: makecontext
 * and swapcontext (a signal mask system call per switch, so about 40 times
 * slower than the assembly). */
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
#endif
