build-aarch64/obj/src/loop/post.o: src/loop/post.c src/loop/loop-int.h \
 include/corio/loop.h src/loop/backend.h
src/loop/loop-int.h:
include/corio/loop.h:
src/loop/backend.h:
