build-aarch64/obj/src/hub/task.o: src/hub/task.c src/hub/hub_internal.h \
 include/corio/coro.h include/corio/hub.h include/corio/loop.h \
 include/corio/loop.h
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
