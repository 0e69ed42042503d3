#!/bin/sh
# The threaded worker tests again, built with ThreadSanitizer into their own
# build directory (build-tsan) and run there on every backend: any data race
# fails the test.
# Process mode (fork after threads) is left out: TSan does not support it.
# CIO_TEST_TIMEOUT=600
set -u
cd "$(dirname "$0")/.." || exit 1
build=build-tsan
tests="workers_chan workers_spawn workers_server workers_stop"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# Probe: the compiler takes -fsanitize=thread and the result runs here
# (TSan needs its runtime and a memory layout some kernels refuse).
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

TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/tests/workers_tsan.supp"
export TSAN_OPTIONS
status=0
for backend in epoll poll select; do
    for t in $tests; do
        start=$(date +%s)
        CIO_BACKEND=$backend "./$build/tests/$t" >"$tmp/$t.log" 2>&1
        rc=$?
        secs=$(($(date +%s) - start))
        if [ "$rc" -eq 0 ]; then
            echo "tsan $t[$backend]: ok (${secs}s)"
        else
            echo "tsan $t[$backend]: FAILED with status $rc (${secs}s)"
            tail -n 60 "$tmp/$t.log"
            status=1
        fi
    done
done
exit $status
