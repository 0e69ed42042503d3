#!/bin/sh
# The aarch64 context switch and system calls, for real: cross-builds the
# coroutine tests and two of the hub's (its IO calls make their system
# calls directly) with aarch64-linux-gnu-gcc and runs them under
# qemu-aarch64.
# CIO_TEST_TIMEOUT=240
set -u
cross=aarch64-linux-gnu-
for tool in ${cross}gcc qemu-aarch64; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "SKIP: $tool not installed (gcc-aarch64-linux-gnu, qemu-user)"
        exit 77
    }
done
sysroot=/usr/aarch64-linux-gnu
[ -d "$sysroot" ] || { echo "SKIP: no $sysroot"; exit 77; }
build=build-aarch64
tests="coro_basic coro_fp coro_stack coro_overflow coro_threads coro_many hub_basic io_socket"
targets=""
for t in $tests; do targets="$targets $build/tests/$t"; done
# Not the rest: other programs need libraries the cross sysroot lacks.
# Never sanitized: the cross sysroot has no ASan runtime.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -s CROSS=$cross BUILD=$build SAN=0 $targets >"$log" 2>&1; then
    cat "$log"
    echo "FAIL: cross build"
    exit 1
fi
${cross}readelf -h "$build/tests/coro_basic" | grep -q AArch64 ||
    { echo "FAIL: $build/tests/coro_basic is not an aarch64 program"; exit 1; }
status=0
for t in $tests; do
    if qemu-aarch64 -L $sysroot "$build/tests/$t"; then
        echo "PASS aarch64 $t"
    else
        echo "FAIL aarch64 $t"
        status=1
    fi
done
exit $status
