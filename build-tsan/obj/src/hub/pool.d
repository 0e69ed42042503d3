build-tsan/obj/src/hub/pool.o: src/hub/pool.c include/corio/sync.h \
 include/corio/hub.h include/corio/loop.h src/hub/hub_internal.h \
 include/corio/coro.h include/corio/hub.h include/corio/loop.h
include/corio/sync.h:
include/corio/hub.h:
include/corio/loop.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
