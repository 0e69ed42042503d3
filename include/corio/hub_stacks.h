/* How the hub's tasks keep their stacks. */
#ifndef CORIO_HUB_STACKS_H
#define CORIO_HUB_STACKS_H

#include "export.h"
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copied stacks for the tasks this thread's hub spawns from now on (or in
 * its next run, when called outside one): they run on shared stacks (up to
 * 128 per thread, about a page each, one per task while tasks are fewer),
 * and a waiting task that shares keeps only its live frames (a few hundred
 * bytes, on the heap) instead of a stack page. Nothing outside a task may
 * point into its stack while it waits: not another task, not a thread
 * (offloaded calls are safe: their task keeps its place meanwhile). Off by
 * default. Where it is not available (other than x86-64, sanitizer builds)
 * tasks keep stacks of their own. No errors. */
CIO_API void cio_hub_set_copied_stacks(bool on);

/* Copied stacks (as above) for the connection tasks that stream servers
 * (cio_server_start, cio_workers_serve) of this thread's hub spawn from
 * now on (or in its next run), whatever cio_hub_set_copied_stacks says for
 * other tasks: for servers whose connections mostly wait, such as control
 * connections between commands. Tasks that the handlers spawn follow
 * cio_hub_set_copied_stacks. No errors. */
CIO_API void cio_hub_set_conn_copied_stacks(bool on);

#ifdef __cplusplus
}
#endif

#endif
