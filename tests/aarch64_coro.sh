#!/bin/sh
# The aarch64 context switch and system calls, for real: cross-builds the
# coroutine tests and two of the hub's (its IO calls make their system
# calls directly) and runs them under qemu-aarch64. The compiler is
# aarch64-linux-gnu-gcc, or clang --target=aarch64-linux-gnu when $CC is
# clang and that cross-builds here (it uses the same sysroot); never $CC
# itself, which builds for this machine.
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
cc=${cross}gcc
build=build-aarch64
case $(basename "${CC:-cc}") in
*clang*)
    probe=$(mktemp -d)
    printf 'int main(void) { return 0; }\n' >"$probe/p.c"
    if $CC --target=aarch64-linux-gnu "$probe/p.c" -o "$probe/p" \
        >/dev/null 2>&1 && qemu-aarch64 -L $sysroot "$probe/p"; then
        cc="${CC} --target=aarch64-linux-gnu"
        build=build-aarch64-clang
    else
        echo "note: ${CC} does not cross-build for aarch64 here; using ${cross}gcc"
    fi
    rm -rf "$probe"
    ;;
esac
echo "compiler: $cc"
tests="coro_basic coro_fp coro_stack coro_overflow coro_threads coro_many hub_basic io_socket"
targets=""
for t in $tests; do targets="$targets $build/tests/$t"; done
# Not the rest: other programs need libraries the cross sysroot lacks.
# Never sanitized: the cross sysroot has no ASan runtime.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# CC on the command line: it wins over a CC=clang of an outer make.
if ! make -s CC="$cc" AR=${cross}ar BUILD=$build SAN=0 $targets >"$log" 2>&1; then
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
