#!/bin/sh
# Runs every benchmark script bench/*.sh (each prints RESULT lines).
set -u
BUILD=${BUILD:-build}
export CIO_BIN="$PWD/$BUILD/bin"
status=0
for b in bench/*.sh; do
    [ -e "$b" ] || continue
    [ "$b" = bench/run.sh ] && continue
    echo "== $b"
    sh "$b" || { echo "FAIL: $b exited with status $?"; status=1; }
done
exit $status
