build-ucontext/obj/src/coro/stack.o: src/coro/stack.c src/coro/stack.h \
 src/coro/coro_int.h include/corio/coro.h src/coro/switch.h
src/coro/stack.h:
src/coro/coro_int.h:
include/corio/coro.h:
src/coro/switch.h:
