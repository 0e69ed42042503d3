build-ucontext/obj/tests/coro_many.o: tests/coro_many.c \
 tests/coro_scale.h include/corio.h include/corio/coro.h \
 include/corio/loop.h include/corio/hub.h include/corio/loop.h \
 include/corio/io.h include/corio/sync.h include/corio/hub.h \
 include/corio/offload.h include/corio/workers.h include/corio/io.h \
 tests/check.h
tests/coro_scale.h:
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
