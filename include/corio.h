/* corio: coroutines, an event loop and asynchronous IO for C.
 *
 * The layers, bottom to top (each header only uses the ones before it):
 *   corio/coro.h   the manual gear: create, switch, yield (greenlet)
 *   corio/loop.h   the event loop over select, poll or epoll (selectors, libuv)
 *   corio/hub.h    the automatic gear: spawn, sleep, join, kill (gevent)
 *   corio/io.h     cooperative sockets with deadlines
 *   corio/sync.h   queues, events, semaphores, locks, wait groups, pools
 *   corio/offload.h blocking calls run on threads while one coroutine waits
 *
 * Conventions: every public name starts with cio_; functions that can fail
 * return 0 (or a count) on success and a negative errno value on failure;
 * nothing is global: each thread has its own current coroutine and hub. */
#ifndef CORIO_H
#define CORIO_H

#define CIO_VERSION_MAJOR 0
#define CIO_VERSION_MINOR 1
#define CIO_VERSION_PATCH 0

#include "corio/coro.h"
#include "corio/loop.h"
#include "corio/hub.h"
#include "corio/io.h"
#include "corio/sync.h"
#include "corio/offload.h"
#include "corio/workers.h"
#include "corio/hub_stacks.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Describes a negative errno value returned by a corio function. */
const char *cio_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif
