#!/bin/sh
# `make install` into a temporary prefix, then the README's example built
# against it with pkg-config and run with the shared library.
set -eu
[ "${SAN:-0}" = 1 ] && { echo "SKIP: the installed library is the plain build's"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
make -s install BUILD="${BUILD:-build}" PREFIX="$tmp/prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
for f in include/corio.h lib/libcorio.a lib/libcorio.so lib/pkgconfig/corio.pc; do
    [ -e "$tmp/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
awk '/^```c$/{f=1;next} /^```$/{f=0} f' README.md >"$tmp/example.c"
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$tmp/example" "$tmp/example.c" $(pkg-config --cflags --libs corio)
LD_LIBRARY_PATH="$tmp/prefix/lib" "$tmp/example" >"$tmp/out"
printf 'foo starts\nbar starts\nfoo ends\nbar ends\n' | cmp - "$tmp/out" ||
    { echo "FAIL: unexpected output:"; cat "$tmp/out"; exit 1; }
LD_LIBRARY_PATH="$tmp/prefix/lib" ldd "$tmp/example" | grep -q "$tmp/prefix/lib/libcorio.so" ||
    { echo "FAIL: example did not use the installed shared library"; exit 1; }
echo "ok - installed headers, libraries and corio.pc build and run the README example"
