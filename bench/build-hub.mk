# The hub's benchmarks: bench_uv_echo links libuv when it is installed
# (Debian libuv1-dev ships both uv.h, which the source looks for with
# __has_include, and libuv.pc); without it the program only prints SKIP.
BENCH_HAVE_UV := $(shell pkg-config --exists libuv 2>/dev/null && echo yes)
ifeq ($(BENCH_HAVE_UV),yes)
LDLIBS_bench_uv_echo += $(shell pkg-config --libs libuv)
endif
$(BUILD)/obj/bench/uv_echo.o: $(call peer_stamp,libuv,$(BENCH_HAVE_UV))
