build-tsan/obj/tests/workers_server.o: tests/workers_server.c \
 tests/check.h include/corio.h include/corio/coro.h include/corio/loop.h \
 include/corio/hub.h include/corio/loop.h include/corio/io.h \
 include/corio/sync.h include/corio/hub.h include/corio/offload.h \
 include/corio/workers.h include/corio/io.h tests/workers_net.h
tests/check.h:
include/corio.h:
include/corio/coro.h:
include/corio/loop.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/io.h:
include/corio/sync.h:
include/corio/hub.h:
include/corio/offload.h:
include/corio/workers.h:
include/corio/io.h:
tests/workers_net.h:
