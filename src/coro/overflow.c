/* Stack overflow reporting. A coroutine that runs into its guard page takes
 * a SIGSEGV; the handler runs on a per-thread alternate signal stack (the
 * faulting one is unusable), names the coroutine and aborts. Faults that are
 * not ours go to the handler installed before us. */
#include "coro/coro_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#define ALTSTACK_BYTES (64u * 1024u)

static struct sigaction previous; /* the SIGSEGV action we replaced */
static pthread_once_t install_once = PTHREAD_ONCE_INIT;

static char *put_uint(char *p, uint64_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = digits[--n];
    return p;
}

void cio__overflow_report(const cio_coro_t *co)
{
    char msg[128], *p = msg;
    static const char head[] = "corio: coroutine ",
                      mid[] = " overflowed its stack (";
    memcpy(p, head, sizeof head - 1);
    p = put_uint(p + sizeof head - 1, cio_coro_id(co));
    memcpy(p, mid, sizeof mid - 1);
    p = put_uint(p + sizeof mid - 1, co->stack.size);
    *p++ = ')';
    *p++ = '\n';
    ssize_t unused = write(STDERR_FILENO, msg, (size_t)(p - msg));
    (void)unused;
    abort();
}

static char *fault_sp(void *uc)
{
    const ucontext_t *u = uc;
#if defined(__x86_64__)
    return (char *)u->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (char *)u->uc_mcontext.sp;
#else
    (void)u;
    return NULL;
#endif
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    const cio_coro_t *co = cio__coro_running();
    if (co && co->stack.lo) {
        char *lo = co->stack.lo, *addr = si->si_addr, *sp = fault_sp(uc);
        bool in_guard = addr < lo && addr >= lo - 4096;
        bool sp_below = sp && sp < lo && sp >= lo - 65536;
        if (in_guard || sp_below)
            cio__overflow_report(co);
    }
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, si, uc);
    } else if (previous.sa_handler != SIG_DFL &&
               previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    } else {
        /* Returning re-executes the fault under the default action. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGSEGV, &dfl, NULL);
    }
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous);
}

void cio__overflow_install(void)
{
    pthread_once(&install_once, install);
}

void *cio__overflow_thread_init(void)
{
    stack_t old;
    if (sigaltstack(NULL, &old) == 0 && !(old.ss_flags & SS_DISABLE))
        return NULL; /* the thread has one already */
    stack_t ss;
    ss.ss_sp = malloc(ALTSTACK_BYTES);
    ss.ss_size = ALTSTACK_BYTES;
    ss.ss_flags = 0;
    if (!ss.ss_sp)
        return NULL;
    if (sigaltstack(&ss, NULL) != 0) {
        free(ss.ss_sp);
        return NULL;
    }
    return ss.ss_sp;
}

void cio__overflow_thread_fini(void *altstack)
{
    if (!altstack)
        return;
    stack_t ss;
    memset(&ss, 0, sizeof ss);
    ss.ss_flags = SS_DISABLE;
    if (sigaltstack(&ss, NULL) == 0)
        free(altstack);
}
