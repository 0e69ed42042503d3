#!/bin/sh
# The coroutine switches under ThreadSanitizer: threads switching their own
# coroutines at once, with the switches annotated as TSan fibers.
# CIO_TEST_TIMEOUT=120
. "$(dirname "$0")/tsan.inc"
tsan_run coro_threads
