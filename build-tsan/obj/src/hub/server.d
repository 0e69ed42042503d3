build-tsan/obj/src/hub/server.o: src/hub/server.c include/corio/io.h \
 include/corio/sync.h include/corio/hub.h include/corio/loop.h \
 src/hub/hub_internal.h include/corio/coro.h include/corio/hub.h \
 include/corio/loop.h
include/corio/io.h:
include/corio/sync.h:
include/corio/hub.h:
include/corio/loop.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
