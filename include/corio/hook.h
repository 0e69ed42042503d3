/* The hook library (libcorio_hook): blocking libc calls made inside a task
 * wait cooperatively, like gevent's monkey patching. Link it
 * (libcorio_hook.a, whole archive, after libcorio.a) or LD_PRELOAD
 * libcorio_hook.so. Outside a task every hooked call is the real one.
 * What is hooked and the rules are in docs/hooks.md. This header is only
 * for programs that want to query or switch hooking; code made to
 * cooperate needs no corio header at all. */
#ifndef CORIO_HOOK_H
#define CORIO_HOOK_H

#include "export.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* True when a blocking call made now by this thread would wait
 * cooperatively: the caller is a task and hooking is not switched off. */
CIO_API bool cio_hook_enabled(void);

/* Switches hooking on or off for the calling thread and returns the
 * previous setting. While off, hooked calls block the whole thread as the
 * real ones do. Per thread: switch it back on before any corio wait. */
CIO_API bool cio_hook_set_enabled(bool on);

#ifdef __cplusplus
}
#endif

#endif
