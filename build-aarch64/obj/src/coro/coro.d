build-aarch64/obj/src/coro/coro.o: src/coro/coro.c src/coro/coro_int.h \
 include/corio/coro.h src/coro/stack.h src/coro/switch.h
src/coro/coro_int.h:
include/corio/coro.h:
src/coro/stack.h:
src/coro/switch.h:
