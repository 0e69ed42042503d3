/* cio_coro_shrink: a suspended coroutine's live frames move to the heap
 * and its stack pages go back to the system; the next switch to it copies
 * them back (cio__coro_unshrink). */
#include "coro/coro_int.h"

#include <errno.h>
#include <stdlib.h>

/* Copies stack words without ASan checks: frames hold poisoned redzones. */
#if CIO_ASAN
__attribute__((no_sanitize_address))
#endif
static void
stack_copy(void *dst, const void *src, size_t len)
{
    volatile uint64_t *d = dst;
    const volatile uint64_t *s = src;
    for (size_t i = 0; i < len / 8; i++)
        d[i] = s[i];
}

void cio__coro_unshrink(cio_coro_t *co)
{
    char *top = co->stack.lo + co->stack.size;
    stack_copy(top - co->saved_len, co->saved, co->saved_len);
    free(co->saved);
    co->saved = NULL;
    co->saved_len = 0;
}

int cio_coro_shrink(cio_coro_t *co)
{
    if (!co || co->is_root)
        return -EINVAL;
    if (co == cio__tls_current)
        return -EBUSY;
    if (co->copied)
        return cio__copied_shrink(co);
    if (co->saved)
        return 0;
    cio__coro_check_canary(co);
    size_t len = 0;
    char *top = co->stack.lo + co->stack.size;
    if (co->state != CIO__CORO_DONE) {
        char *sp = cio__ctx_sp(&co->ctx);
        if (sp < co->stack.lo)
            sp = co->stack.lo;
        len = (size_t)(top - sp) & ~(size_t)7;
        co->saved = malloc(len ? len : 8);
        if (!co->saved)
            return -ENOMEM;
        stack_copy(co->saved, top - len, len);
    }
    co->saved_len = len;
    cio__stack_drop_pages(&co->stack);
    return 0;
}
