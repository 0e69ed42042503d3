#!/bin/sh
# The coroutine switches under ThreadSanitizer: threads switching their own
# coroutines at once (new ones started and finished among them), with the
# switches annotated as TSan fibers, and the hub's switches (copied stacks
# and their copier). Built with $CC and with clang: TSan instruments each
# function with an entry and an exit on the running fiber's shadow stack,
# and which helpers a compiler inlines decides whether a switch keeps them
# paired (src/coro/transfer.h, tsan_switch).
# CIO_TEST_TIMEOUT=240
. "$(dirname "$0")/tsan.inc"
TSAN_ALSO=clang
tsan_run coro_threads hub_basic
