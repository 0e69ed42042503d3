build-aarch64/obj/src/loop/loop.o: src/loop/loop.c src/loop/loop-int.h \
 include/corio/loop.h src/loop/backend.h
src/loop/loop-int.h:
include/corio/loop.h:
src/loop/backend.h:
