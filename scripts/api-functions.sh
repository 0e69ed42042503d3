#!/bin/sh
# Prints the public functions declared in the given headers (default: every
# header of libcorio), one "name header" per line: the declarations that
# start with CIO_API. Used by the man page generator and the export test.
set -eu
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || set -- include/corio.h include/corio/*.h
for h in "$@"; do
    case $h in */export.h | */hook.h) continue ;; esac
    awk -v h="$h" '
        /^CIO_API / { decl = ""; on = 1 }
        on { decl = decl " " $0 }
        on && /;/ {
            on = 0
            sub(/\(.*/, "", decl)
            n = split(decl, w, /[ *]+/)
            print w[n], h
        }' "$h"
done
