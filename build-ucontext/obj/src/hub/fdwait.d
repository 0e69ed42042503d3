build-ucontext/obj/src/hub/fdwait.o: src/hub/fdwait.c src/hub/fdwait.h \
 src/hub/hub_internal.h include/corio/coro.h include/corio/hub.h \
 include/corio/loop.h include/corio/loop.h
src/hub/fdwait.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
