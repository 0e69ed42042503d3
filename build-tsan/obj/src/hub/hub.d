build-tsan/obj/src/hub/hub.o: src/hub/hub.c src/hub/hub_internal.h \
 include/corio/coro.h include/corio/hub.h include/corio/loop.h \
 include/corio/loop.h
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
