build-ucontext/obj/src/workers/chan.o: src/workers/chan.c \
 include/corio/hub.h include/corio/loop.h include/corio/loop.h \
 include/corio/sync.h include/corio/hub.h include/corio/workers.h \
 include/corio/io.h src/workers/workers-int.h
include/corio/hub.h:
include/corio/loop.h:
include/corio/loop.h:
include/corio/sync.h:
include/corio/hub.h:
include/corio/workers.h:
include/corio/io.h:
src/workers/workers-int.h:
