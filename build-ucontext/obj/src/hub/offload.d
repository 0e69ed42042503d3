build-ucontext/obj/src/hub/offload.o: src/hub/offload.c \
 include/corio/offload.h src/hub/hub_internal.h include/corio/coro.h \
 include/corio/hub.h include/corio/loop.h include/corio/loop.h
include/corio/offload.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
