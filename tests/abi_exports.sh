#!/bin/sh
# libcorio.so exports exactly the functions the headers declare public
# (CIO_API), no private cio__ symbol and nothing else; every function
# declaration in the headers carries CIO_API; the soname is versioned.
set -u
BUILD=${BUILD:-build}
so=$BUILD/lib/libcorio.so
command -v nm >/dev/null || { echo "SKIP: nm not installed (binutils)"; exit 77; }
[ -e "$so" ] || { echo "FAIL: $so is missing (make first)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# libcorio_tls has its own library: tls.h is checked for CIO_API only.
sh scripts/api-functions.sh $(ls include/corio.h include/corio/*.h | grep -v /tls.h) | awk '{print $1}' | sort -u >"$tmp/headers"
nm -D --defined-only "$so" | awk '$2 == "T" || $2 == "W" {print $3}' |
    sort -u >"$tmp/functions"
nm -D --defined-only "$so" | awk '$2 != "T" && $2 != "W" {print $3}' |
    grep -v '^_' >"$tmp/other" || true
[ "$(wc -l <"$tmp/headers")" -gt 100 ] ||
    { echo "FAIL: found only $(wc -l <"$tmp/headers") public functions"; exit 1; }

if ! diff -u "$tmp/headers" "$tmp/functions" >"$tmp/diff"; then
    echo "FAIL: exported functions differ from the headers (- header only, + exported only):"
    grep '^[-+]cio' "$tmp/diff"
    fail=1
fi
if [ -s "$tmp/other" ]; then
    echo "FAIL: exported data or other symbols:"
    cat "$tmp/other"
    fail=1
fi
# A public function declared without CIO_API would be hidden.
grep -n '^[a-z][a-z0-9_ *]*cio_[a-z0-9_]*(' include/corio.h include/corio/*.h |
    grep -v 'typedef' >"$tmp/bare" && {
    echo "FAIL: declarations without CIO_API:"
    cat "$tmp/bare"
    fail=1
}
soname=$(readelf -d "$so" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
case $soname in
libcorio.so.[0-9]*) ;;
*) echo "FAIL: soname '$soname' is not versioned"; fail=1 ;;
esac
hook=$BUILD/lib/libcorio_hook.so
hsoname=$(readelf -d "$hook" 2>/dev/null | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
case $hsoname in
libcorio_hook.so.[0-9]*) ;;
*) echo "FAIL: hook soname '$hsoname' is not versioned"; fail=1 ;;
esac
[ $fail -eq 0 ] || exit 1
echo "ok - $(wc -l <"$tmp/functions") exported functions match the headers; sonames $soname, $hsoname"
