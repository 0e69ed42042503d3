/* corio: coroutines, an event loop and asynchronous IO for C.
 *
 * The layers, bottom to top (each header only uses the ones before it):
 *   corio/coro.h    the manual gear: create, switch, yield (greenlet)
 *   corio/loop.h    the event loop over select, poll or epoll (libuv)
 *   corio/hub.h     the automatic gear: spawn, sleep, join, kill (gevent)
 *   corio/io.h      cooperative fds and sockets with deadlines
 *   corio/sync.h    queues, events, semaphores, locks, wait groups, pools
 *   corio/offload.h blocking calls run on threads while one task waits
 *   corio/workers.h a hub per core, channels between threads
 *   corio/nursery.h tasks that own their children (structured concurrency)
 *   corio/copy.h    fd to fd copies, a proxy, idle deadlines
 *   corio/fdwatch.h a task started when an fd becomes readable
 *
 * Naming: cio_<object>_<verb>; the subject comes first, then out-parameters,
 * then inputs, the deadline last; _t on data types, _cb on callbacks.
 * Functions that can fail return 0 (or a count) on success and a negative
 * errno value on failure; each one's comment lists them. Each thread has its
 * own current coroutine and hub; the offload thread pools are shared by the
 * process. */
#ifndef CORIO_H
#define CORIO_H

#define CIO_VERSION_MAJOR 1
#define CIO_VERSION_MINOR 0
#define CIO_VERSION_PATCH 0

#include "corio/export.h"
#include "corio/coro.h"
#include "corio/loop.h"
#include "corio/hub.h"
#include "corio/io.h"
#include "corio/sync.h"
#include "corio/offload.h"
#include "corio/file.h"
#include "corio/workers.h"
#include "corio/nursery.h"
#include "corio/copy.h"
#include "corio/hub_stacks.h"
#include "corio/fdwatch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Describes a negative errno value returned by a corio function. */
CIO_API const char *cio_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
