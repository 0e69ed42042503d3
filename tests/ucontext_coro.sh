#!/bin/sh
# The portable ucontext fallback (targets without an assembly switch):
# builds the coroutine tests, and two of the hub's (its switches take
# another way there), with no switch source, so the library uses
# makecontext/swapcontext, and runs them.
# CIO_TEST_TIMEOUT=180
set -u
if [ "${SAN:-0}" = 1 ]; then
    build=build-ucontext-san
else
    build=build-ucontext
fi
tests="coro_basic coro_fp coro_stack coro_overflow coro_threads coro_many hub_basic io_socket"
targets=""
for t in $tests; do targets="$targets $build/tests/$t"; done
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -s BUILD=$build SAN="${SAN:-0}" SWITCH_SRC= $targets >"$log" 2>&1; then
    cat "$log"
    echo "FAIL: build"
    exit 1
fi
nm "$build/lib/libcorio.a" 2>/dev/null | grep -q ' U swapcontext' ||
    { echo "FAIL: the library does not use swapcontext"; exit 1; }
status=0
for t in $tests; do
    if "$build/tests/$t"; then
        echo "PASS ucontext $t"
    else
        echo "FAIL ucontext $t"
        status=1
    fi
done
exit $status
