build-ucontext/obj/src/common/error.o: src/common/error.c include/corio.h \
 include/corio/coro.h include/corio/loop.h include/corio/hub.h \
 include/corio/loop.h include/corio/io.h include/corio/sync.h \
 include/corio/hub.h include/corio/offload.h include/corio/workers.h \
 include/corio/io.h
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
