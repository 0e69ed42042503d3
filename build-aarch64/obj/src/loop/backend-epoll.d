build-aarch64/obj/src/loop/backend-epoll.o: src/loop/backend-epoll.c \
 include/corio/loop.h src/loop/backend.h
include/corio/loop.h:
src/loop/backend.h:
