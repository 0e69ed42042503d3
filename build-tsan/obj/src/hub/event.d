build-tsan/obj/src/hub/event.o: src/hub/event.c include/corio/sync.h \
 include/corio/hub.h include/corio/loop.h src/hub/hub_internal.h \
 include/corio/coro.h include/corio/hub.h include/corio/loop.h
include/corio/sync.h:
include/corio/hub.h:
include/corio/loop.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
