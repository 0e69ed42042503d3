/* What can be asked of a coroutine: its parent, state, result, name, data,
 * the memory it costs, and its owner's room and flag. */
#include "coro/coro_int.h"

#include <stdlib.h>
#include <string.h>

cio_coro_t *cio_coro_parent(const cio_coro_t *co)
{
    return co ? co->parent : NULL;
}

bool cio_coro_done(const cio_coro_t *co)
{
    return co && co->state == CIO__CORO_DONE;
}

void *cio_coro_result(const cio_coro_t *co)
{
    return co && co->state == CIO__CORO_DONE ? co->result : NULL;
}

void cio_coro_set_name(cio_coro_t *co, const char *name)
{
    if (!co)
        return;
    char *copy = name ? strdup(name) : NULL;
    if (!co->name_static)
        free(co->name);
    co->name = copy;
    co->name_static = 0;
}

void cio__coro_set_static_name(cio_coro_t *co, const char *name)
{
    cio_coro_set_name(co, NULL);
    co->name = (char *)name;
    co->name_static = 1;
}

const char *cio_coro_name(const cio_coro_t *co)
{
    return co && co->name ? co->name : "";
}

void cio_coro_set_data(cio_coro_t *co, void *data)
{
    if (co)
        co->data = data;
}

void *cio_coro_data(const cio_coro_t *co)
{
    return co ? co->data : NULL;
}

size_t cio_coro_footprint(const cio_coro_t *co)
{
    if (!co)
        return 0;
    size_t head = co->room ? HEAD_BYTES + co->room : sizeof *co;
    if (co->is_root || co->state == CIO__CORO_DONE)
        return head;
    if (co->copied) /* its frames go to a buffer of their size */
        return head + co->copy_cap;
    if (co->saved)
        return head + co->saved_len;
    size_t page = 4096;
    char *top = co->stack.lo + co->stack.size;
    char *sp = co == cio__tls_current ? (char *)__builtin_frame_address(0)
                                      : cio__ctx_sp(&co->ctx);
    if (sp < co->stack.lo || sp > top)
        sp = co->stack.lo;
    size_t live = (size_t)(top - sp);
    return head + (live + page - 1) / page * page;
}

void *cio__coro_room(cio_coro_t *co)
{
    return (char *)co + HEAD_BYTES;
}

#ifdef CIO_USE_UCONTEXT
unsigned cio__coro_flag(const cio_coro_t *co)
{
    return co->flag;
}

void cio__coro_set_flag(cio_coro_t *co, unsigned flag)
{
    co->flag = (uint8_t)flag;
}
#endif
