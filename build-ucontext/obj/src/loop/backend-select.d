build-ucontext/obj/src/loop/backend-select.o: src/loop/backend-select.c \
 include/corio/loop.h src/loop/backend.h
include/corio/loop.h:
src/loop/backend.h:
