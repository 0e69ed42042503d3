#!/bin/sh
# The cross-thread post test again, built with ThreadSanitizer into its own
# build directory (build-tsan) and run on every backend: many threads post
# into a loop, and any data race between posters and the loop fails it.
# CIO_TEST_TIMEOUT=300
. "$(dirname "$0")/tsan.inc"
tsan_run loop_post
