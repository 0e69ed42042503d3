build-ucontext/obj/src/loop/signal.o: src/loop/signal.c \
 src/loop/loop-int.h include/corio/loop.h src/loop/backend.h
src/loop/loop-int.h:
include/corio/loop.h:
src/loop/backend.h:
