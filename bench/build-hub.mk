# The hub's benchmarks: bench_uv_echo links libuv when it is installed
# (Debian libuv1-dev ships both uv.h, which the source looks for with
# __has_include, and libuv.pc); without it the program only prints SKIP.
ifeq ($(shell pkg-config --exists libuv 2>/dev/null && echo yes),yes)
LDLIBS_bench_uv_echo += $(shell pkg-config --libs libuv)
endif
