# Link flags for the coroutine tests (fenv functions live in libm).
LDLIBS_coro_fp += -lm
