/* The real libc functions behind the hooks, and the switch that decides
 * whether a hooked call cooperates.
 *
 * dlsym(RTLD_NEXT) finds the definition that comes after ours in the
 * lookup order: libc's, or a sanitizer's interceptor when one is loaded.
 * The table is filled once; a function missing from libc is a broken
 * installation, reported on stderr before aborting. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "corio/hub.h"
#include "corio/hook.h"
#include "hook.h"

struct cio__real_fns cio__real;
int cio__real_ready;
_Thread_local int cio__hook_off;

/* Whether the program switched hooking off on this thread. */
static _Thread_local bool hook_disabled;

static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void *resolve(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        static const char msg[] = "corio hook: no real function for ";
        /* The raw syscall: write() itself may not be resolved yet. */
        syscall(SYS_write, 2, msg, sizeof(msg) - 1);
        syscall(SYS_write, 2, name, strlen(name));
        syscall(SYS_write, 2, "\n", 1);
        abort();
    }
    return fn;
}

/* memcpy: ISO C has no cast from void * to a function pointer. */
#define RESOLVE(name)                                                          \
    do {                                                                       \
        void *fn_ = resolve(#name);                                            \
        memcpy(&cio__real.name, &fn_, sizeof(fn_));                            \
    } while (0)

static void real_resolve_all(void)
{
    RESOLVE(read);
    RESOLVE(write);
    RESOLVE(readv);
    RESOLVE(writev);
    RESOLVE(recv);
    RESOLVE(send);
    RESOLVE(recvfrom);
    RESOLVE(sendto);
    RESOLVE(recvmsg);
    RESOLVE(sendmsg);
    RESOLVE(accept);
    RESOLVE(accept4);
    RESOLVE(connect);
    RESOLVE(poll);
    RESOLVE(select);
    RESOLVE(epoll_wait);
    RESOLVE(sleep);
    RESOLVE(usleep);
    RESOLVE(nanosleep);
    RESOLVE(clock_nanosleep);
    RESOLVE(getaddrinfo);
    RESOLVE(close);
    RESOLVE(socket);
    RESOLVE(socketpair);
    RESOLVE(pipe);
    RESOLVE(pipe2);
    RESOLVE(dup2);
    RESOLVE(dup3);
    __atomic_store_n(&cio__real_ready, 1, __ATOMIC_RELEASE);
}

void cio__real_init(void)
{
    pthread_once(&real_once, real_resolve_all);
}

bool cio__hook_active(void)
{
    return cio__hook_off == 0 && cio_task_self() != NULL;
}

bool cio_hook_enabled(void)
{
    return cio__hook_active();
}

bool cio_hook_set_enabled(bool on)
{
    bool was_on = !hook_disabled;
    if (on && hook_disabled) {
        hook_disabled = false;
        cio__hook_off--;
    } else if (!on && !hook_disabled) {
        hook_disabled = true;
        cio__hook_off++;
    }
    return was_on;
}
