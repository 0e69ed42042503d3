#!/bin/sh
# Runs every test in its own process with a timeout and prints one line per
# test and a closing "N passed, N failed, N skipped".
#
#   build/tests/NAME      a C test (tests/NAME.c)
#   tests/NAME.sh|.py     an integration script (programs in $BUILD/bin)
#
# Markers inside a test's source:
#   CIO_TEST_ALL_BACKENDS   run once per backend, with CIO_BACKEND=select|poll|epoll
#   CIO_TEST_TIMEOUT=N      seconds before the test counts as hung (default 60)
# Exit status 77 means SKIP (the test prints why).  TESTS="a b" runs a subset.
set -u
BUILD=${BUILD:-build}
SAN=${SAN:-0}
export BUILD SAN
export CIO_BIN="$PWD/$BUILD/bin"
logdir="$BUILD/test-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0
failed=""

source_of() {
    case "$1" in
    *.sh|*.py) echo "tests/$1" ;;
    *) echo "tests/$1.c" ;;
    esac
}

run_one() { # name label backend
    name=$1 label=$2 backend=$3
    src=$(source_of "$name")
    limit=$(sed -n 's/.*CIO_TEST_TIMEOUT=\([0-9]*\).*/\1/p' "$src" | head -n 1)
    limit=${limit:-60}
    [ "$SAN" = 1 ] && limit=$((limit * 3))
    case "$name" in
    *.sh) cmd="sh tests/$name" ;;
    *.py) cmd="python3 tests/$name" ;;
    *) cmd="$BUILD/tests/$name" ;;
    esac
    log="$logdir/$label.log"
    start=$(date +%s)
    if [ -n "$backend" ]; then
        CIO_BACKEND=$backend timeout -k 5 "$limit" $cmd >"$log" 2>&1
    else
        timeout -k 5 "$limit" $cmd >"$log" 2>&1
    fi
    rc=$?
    secs=$(( $(date +%s) - start ))
    case $rc in
    0) pass=$((pass + 1)); echo "PASS $label (${secs}s)" ;;
    77) skip=$((skip + 1)); echo "SKIP $label: $(grep -m1 -i skip "$log" || tail -n 1 "$log")" ;;
    124|137) fail=$((fail + 1)); failed="$failed $label"
        echo "FAIL $label: timed out after ${limit}s"; tail -n 20 "$log" | sed 's/^/    /' ;;
    *) fail=$((fail + 1)); failed="$failed $label"
        echo "FAIL $label: exit status $rc"; tail -n 20 "$log" | sed 's/^/    /' ;;
    esac
}

if [ -n "${TESTS:-}" ]; then
    names=$TESTS
else
    names=$( (cd tests && ls *.c *.sh *.py 2>/dev/null) | grep -v '^run\.sh$' | sed 's/\.c$//' | sort)
fi

for name in $names; do
    src=$(source_of "$name")
    [ -f "$src" ] || { echo "FAIL $name: no such test"; fail=$((fail + 1)); continue; }
    if grep -q CIO_TEST_ALL_BACKENDS "$src"; then
        for b in select poll epoll; do run_one "$name" "$name[$b]" "$b"; done
    else
        run_one "$name" "$name" ""
    fi
done

[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
