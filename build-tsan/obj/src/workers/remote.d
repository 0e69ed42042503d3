build-tsan/obj/src/workers/remote.o: src/workers/remote.c \
 include/corio/hub.h include/corio/loop.h include/corio/sync.h \
 include/corio/hub.h include/corio/workers.h include/corio/io.h \
 src/workers/workers-int.h
include/corio/hub.h:
include/corio/loop.h:
include/corio/sync.h:
include/corio/hub.h:
include/corio/workers.h:
include/corio/io.h:
src/workers/workers-int.h:
