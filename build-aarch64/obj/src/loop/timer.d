build-aarch64/obj/src/loop/timer.o: src/loop/timer.c src/loop/loop-int.h \
 include/corio/loop.h src/loop/backend.h
src/loop/loop-int.h:
include/corio/loop.h:
src/loop/backend.h:
