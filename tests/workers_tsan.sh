#!/bin/sh
# The threaded worker tests again, built with ThreadSanitizer into their own
# build directory (build-tsan) and run there on every backend: any data race
# fails the test.
# Process mode (fork after threads) is left out: TSan does not support it.
# CIO_TEST_TIMEOUT=600
. "$(dirname "$0")/tsan.inc"
TSAN_SUPP=tests/workers_tsan.supp
tsan_run workers_chan workers_spawn workers_server workers_stop
