build-tsan/obj/src/workers/proc.o: src/workers/proc.c \
 include/corio/workers.h include/corio/hub.h include/corio/loop.h \
 include/corio/io.h src/workers/workers-int.h include/corio/hub.h \
 include/corio/sync.h
include/corio/workers.h:
include/corio/hub.h:
include/corio/loop.h:
include/corio/io.h:
src/workers/workers-int.h:
include/corio/hub.h:
include/corio/sync.h:
