#!/bin/sh
# The cross-thread post test again, built with ThreadSanitizer into its own
# build directory (build-tsan) and run on every backend: many threads post
# into a loop, and any data race between posters and the loop fails it.
# CIO_TEST_TIMEOUT=300
set -u
cd "$(dirname "$0")/.." || exit 1
build=build-tsan
tests="loop_post"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Probe: the compiler takes -fsanitize=thread and the result runs here.
printf '#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint main(void) { pthread_t t; pthread_create(&t, 0, f, 0); return pthread_join(t, 0); }\n' >"$tmp/probe.c"
if ! ${CC:-cc} -fsanitize=thread -pthread "$tmp/probe.c" -o "$tmp/probe" \
    >"$tmp/probe.log" 2>&1 || ! "$tmp/probe" >>"$tmp/probe.log" 2>&1; then
    echo "SKIP: ThreadSanitizer is not available ($(head -n 1 "$tmp/probe.log"))"
    exit 77
fi

# A clean make: the outer make's flags and SAN=1 must not leak in.
unset MAKEFLAGS MFLAGS MAKELEVEL
targets=""
for t in $tests; do targets="$targets $build/tests/$t"; done
if ! make -j2 SAN=0 BUILD="$build" SANFLAGS=-fsanitize=thread $targets \
    >"$tmp/build.log" 2>&1; then
    echo "FAIL: the TSan build failed"
    tail -n 30 "$tmp/build.log"
    exit 1
fi

TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export TSAN_OPTIONS
status=0
for backend in epoll poll select; do
    for t in $tests; do
        CIO_BACKEND=$backend "./$build/tests/$t" >"$tmp/$t.log" 2>&1
        rc=$?
        if [ "$rc" -eq 0 ]; then
            echo "tsan $t[$backend]: ok"
        else
            echo "tsan $t[$backend]: FAILED with status $rc"
            tail -n 60 "$tmp/$t.log"
            status=1
        fi
    done
done
exit $status
