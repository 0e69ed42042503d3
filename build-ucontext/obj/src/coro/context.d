build-ucontext/obj/src/coro/context.o: src/coro/context.c \
 src/coro/coro_int.h include/corio/coro.h src/coro/stack.h \
 src/coro/switch.h
src/coro/coro_int.h:
include/corio/coro.h:
src/coro/stack.h:
src/coro/switch.h:
