#!/bin/sh
# The README's install steps, run as written (HOME is a temporary
# directory): make install, pkg-config, the example built and run with the
# installed shared library; the static link line; then make uninstall
# leaves nothing behind, also with LIBDIR and MANDIR set.
set -eu
[ "${SAN:-0}" = 1 ] && { echo "SKIP: the installed library is the plain build's"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not installed"; exit 77; }
repo=$PWD
build=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; [ -f "$tmp/log" ] && tail -n 20 "$tmp/log"; exit 1; }

awk '/^```c$/{f=1;next} /^```$/{f=0} f' README.md >"$tmp/example.c"
awk '/<!-- install-steps -->/{s=1} s&&/^```sh$/{f=1;next} f&&/^```$/{exit} f' \
    README.md >"$tmp/steps.sh"
grep -q 'make install' "$tmp/steps.sh" || fail "no install steps in README.md"
# make runs in the tree, the rest where example.c is.
sed "s|^make |make -s -C '$repo' BUILD='$build' |" "$tmp/steps.sh" >"$tmp/run.sh"
(cd "$tmp" && HOME=$tmp sh -e "$tmp/run.sh") >"$tmp/out" 2>"$tmp/log" ||
    fail "the README's steps failed"
printf 'foo starts\nbar starts\nfoo ends\nbar ends\n' | cmp -s - "$tmp/out" ||
    fail "unexpected output: $(cat "$tmp/out")"
ldd "$tmp/example" | grep -q "$tmp/.local/lib/libcorio.so.1" ||
    fail "example did not use the installed shared library"
for f in include/corio.h include/corio/copy.h lib/libcorio.a lib/libcorio.so.1 \
    lib/libcorio_hook.so.1 lib/pkgconfig/corio.pc share/man/man3/cio_task_spawn.3; do
    [ -e "$tmp/.local/$f" ] || fail "$f not installed"
done

# The static line of the README.
export PKG_CONFIG_PATH=$tmp/.local/lib/pkgconfig
# shellcheck disable=SC2046
cc -o "$tmp/static" "$tmp/example.c" $(pkg-config --cflags corio) \
    $(pkg-config --variable=static_libs corio) 2>"$tmp/log" ||
    fail "static link"
"$tmp/static" | cmp -s "$tmp/out" - || fail "static example output"
ldd "$tmp/static" | grep -q libcorio && fail "static example uses libcorio.so"

make -s uninstall BUILD="$build" PREFIX="$tmp/.local" >"$tmp/log" 2>&1 ||
    fail "make uninstall"
left=$(find "$tmp/.local" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"

# LIBDIR, INCLUDEDIR and MANDIR are honoured, by install and uninstall.
p=$tmp/p2
set -- BUILD="$build" PREFIX="$p" LIBDIR="$p/lib64" INCLUDEDIR="$p/inc" MANDIR="$p/man"
make -s install "$@" >"$tmp/log" 2>&1 || fail "make install with LIBDIR"
for f in lib64/libcorio.so.1 lib64/pkgconfig/corio.pc inc/corio.h man/man3/cio_fd_copy.3; do
    [ -e "$p/$f" ] || fail "$f not installed"
done
grep -qx "libdir=$p/lib64" "$p/lib64/pkgconfig/corio.pc" || fail "corio.pc libdir"
make -s uninstall "$@" >"$tmp/log" 2>&1 || fail "make uninstall with LIBDIR"
left=$(find "$p" -type f -o -type l)
[ -z "$left" ] || fail "left after uninstall: $left"
echo "ok - the README's install steps build and run; static link; uninstall is clean"
