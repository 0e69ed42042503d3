build-ucontext/obj/src/hub/net.o: src/hub/net.c include/corio/io.h \
 include/corio/offload.h src/hub/hub_internal.h include/corio/coro.h \
 include/corio/hub.h include/corio/loop.h include/corio/loop.h
include/corio/io.h:
include/corio/offload.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
