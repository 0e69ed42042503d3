build-tsan/obj/src/hub/io.o: src/hub/io.c include/corio/io.h \
 src/hub/fdwait.h src/hub/hub_internal.h include/corio/coro.h \
 include/corio/hub.h include/corio/loop.h include/corio/loop.h
include/corio/io.h:
src/hub/fdwait.h:
src/hub/hub_internal.h:
include/corio/coro.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
