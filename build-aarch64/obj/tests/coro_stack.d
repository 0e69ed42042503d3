build-aarch64/obj/tests/coro_stack.o: tests/coro_stack.c include/corio.h \
 include/corio/coro.h include/corio/loop.h include/corio/hub.h \
 include/corio/loop.h include/corio/io.h include/corio/sync.h \
 include/corio/hub.h include/corio/offload.h include/corio/workers.h \
 include/corio/io.h tests/check.h
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
tests/check.h:
