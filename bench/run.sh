#!/bin/sh
# Runs every benchmark script bench/*.sh (each prints RESULT lines), keeps
# the output in $BUILD/bench/bench.log and draws the charts of those
# RESULT lines next to it (bench/lib/charts.sh: $BUILD/bench/*.svg).
set -u
BUILD=${BUILD:-build}
export CIO_BIN="$PWD/$BUILD/bin"
out="$PWD/$BUILD/bench"
mkdir -p "$out"
log="$out/bench.log"
: >"$log"
status=0
for b in bench/*.sh; do
    [ -e "$b" ] || continue
    [ "$b" = bench/run.sh ] && continue
    echo "== $b" | tee -a "$log"
    { sh "$b" 2>&1; echo $? >"$out/.rc"; } | tee -a "$log"
    rc=$(cat "$out/.rc")
    if [ "$rc" != 0 ]; then
        echo "FAIL: $b exited with status $rc" | tee -a "$log"
        status=1
    fi
done
rm -f "$out/.rc"
sh bench/lib/charts.sh "$log" "$out" "make bench"
exit $status
