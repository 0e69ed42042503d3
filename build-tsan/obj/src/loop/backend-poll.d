build-tsan/obj/src/loop/backend-poll.o: src/loop/backend-poll.c \
 include/corio/loop.h src/loop/backend.h
include/corio/loop.h:
src/loop/backend.h:
