/* Switches between two copied coroutines of one stack (copied.c): frames
 * cannot be copied on the stack that runs, so the switch goes through the
 * thread's copier, a coroutine on a stack of its own, made with the
 * thread's first copied coroutine. */
#include "coro/transfer.h"

#include <stdlib.h>
#include <unistd.h>

#if FRESH_START
/* `from` switches to the copier as to any coroutine, so its frames are
 * saved; the copier moves them out, moves to's in, and switches to `to`
 * with the value. */
int cio__coro_hop(struct cio__thread *t, cio_coro_t *from, cio_coro_t *to,
                  void *value, void **received, bool fresh)
{
    cio_coro_t *c = t->copier;
    t->hop_to = to;
    t->hop_value = value;
    t->hop_fresh = fresh;
    if (!from->stack.guarded)
        cio__coro_check_canary(from);
    cio__tls_current = c;
    tsan_switch(c);
    if (c->state == CIO__CORO_NEW) {
        c->state = CIO__CORO_SUSPENDED;
        c->parent = from;
        return start_status(t, from, c, t, received);
    }
    return switch_status(t, from, c, NULL, received);
}

static void *copier_main(void *arg)
{
    struct cio__thread *t = arg;
    for (;;) {
        cio_coro_t *to = t->hop_to;
        cio__copied_move(to);
        cio__tls_current = to;
        tsan_switch(to);
        if (t->hop_fresh)
            start_status(t, t->copier, to, t->hop_value, NULL);
        else
            switch_status(t, t->copier, to, t->hop_value, NULL);
    }
    return NULL;
}

int cio__copier_new(struct cio__thread *t)
{
    return cio_coro_create(&t->copier, copier_main, t, 0);
}

/* The hub, the only user of copied coroutines, never resumes one on a
 * pinned stack by a yield or an end. */
void cio__copied_check(const cio_coro_t *to)
{
    if (cio__copied_busy(to)) {
        static const char msg[] = "corio: coroutine resumed on a stack that "
                                  "another one keeps\n";
        ssize_t unused = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)unused;
        abort();
    }
}
#endif
