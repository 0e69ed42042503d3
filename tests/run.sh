#!/bin/sh
# Runs every test in its own process with a timeout, JOBS at a time (default:
# the number of CPUs), prints one line per test and a closing
# "N passed, N failed, N skipped".
#
#   build/tests/NAME      a C test (tests/NAME.c)
#   tests/NAME.sh|.py     an integration script (programs in $CIO_BIN)
#
# Markers inside a test's source:
#   CIO_TEST_ALL_BACKENDS   run once per backend, with CIO_BACKEND=select|poll|epoll|uring
#                           (uring runs are SKIPped where io_uring is unavailable:
#                           build/tests/loop_uring --probe decides)
#   CIO_TEST_TIMEOUT=N      seconds before the test counts as hung (default 60);
#                           the longest tests start first
# Exit status 77 means SKIP (the test prints why).  TESTS="a b" runs a subset.
set -u
BUILD=${BUILD:-build}
SAN=${SAN:-0}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 1)}
export BUILD SAN
export CIO_BIN="$PWD/$BUILD/bin"
logdir="$BUILD/test-logs"

source_of() {
    case "$1" in
    *.sh|*.py) echo "tests/$1" ;;
    *) echo "tests/$1.c" ;;
    esac
}

timeout_of() {
    limit=$(sed -n 's/.*CIO_TEST_TIMEOUT=\([0-9]*\).*/\1/p' "$1" | head -n 1)
    echo "${limit:-60}"
}

# One test: run it, write its verdict to $logdir/LABEL.result, print it.
run_one() { # name label backend
    name=$1 label=$2 backend=$3
    limit=$(timeout_of "$(source_of "$name")")
    [ "$SAN" = 1 ] && limit=$((limit * 3))
    case "$name" in
    *.sh) set -- sh "tests/$name" ;;
    *.py) set -- python3 "tests/$name" ;;
    *) set -- "$BUILD/tests/$name" ;;
    esac
    log="$logdir/$label.log"
    if [ "$backend" = uring ] && [ -z "${CIO_URING_OK:-}" ]; then
        verdict="SKIP $label: io_uring unavailable here"
        echo "$verdict" >"$logdir/$label.result"
        echo "$verdict"
        return
    fi
    start=$(date +%s)
    CIO_BACKEND=${backend:-${CIO_BACKEND:-}} timeout -k 5 "$limit" "$@" >"$log" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))
    case $rc in
    0) verdict="PASS $label (${secs}s)" ;;
    77) verdict="SKIP $label: $(grep -m1 -i skip "$log" || tail -n 1 "$log")" ;;
    124|137) verdict="FAIL $label: timed out after ${limit}s" ;;
    *) verdict="FAIL $label: exit status $rc" ;;
    esac
    echo "$verdict" >"$logdir/$label.result"
    case $verdict in
    FAIL*) printf '%s\n%s\n' "$verdict" "$(tail -n 20 "$log" | sed 's/^/    /')" ;;
    *) echo "$verdict" ;;
    esac
}

if [ "${1:-}" = --one ]; then
    run_one "$2" "$3" "${4:-}"
    exit 0
fi

rm -rf "$logdir"
mkdir -p "$logdir"
CIO_URING_OK=
"$BUILD/tests/loop_uring" --probe >/dev/null 2>&1 && CIO_URING_OK=1
export CIO_URING_OK
if [ -n "${TESTS:-}" ]; then
    names=$TESTS
else
    names=$( (cd tests && ls *.c *.sh *.py 2>/dev/null) | grep -v '^run\.sh$' | sed 's/\.c$//')
fi

# One line per run: "timeout name label backend", longest first.
plan=$logdir/plan
missing=0
missing_names=
: >"$plan.unsorted"
for name in $names; do
    src=$(source_of "$name")
    if [ ! -f "$src" ]; then
        # "make_flags" for "make_flags.sh": the name as ls shows it, or without its extension.
        for ext in sh py; do
            [ -f "tests/$name.$ext" ] && name=$name.$ext && src=tests/$name && break
        done
    fi
    if [ ! -f "$src" ]; then
        echo "FAIL $name: no such test"
        missing=$((missing + 1))
        missing_names="$missing_names $name"
        continue
    fi
    limit=$(timeout_of "$src")
    if grep -q CIO_TEST_ALL_BACKENDS "$src"; then
        for b in select poll epoll uring; do echo "$limit $name $name[$b] $b"; done
    else
        echo "$limit $name $name"
    fi >>"$plan.unsorted"
done
sort -k1,1nr -k2,2 "$plan.unsorted" >"$plan"

cut -d' ' -f2- "$plan" | xargs -P "$JOBS" -L 1 sh tests/run.sh --one

pass=$(cat "$logdir"/*.result 2>/dev/null | grep -c '^PASS')
fail=$(cat "$logdir"/*.result 2>/dev/null | grep -c '^FAIL')
skip=$(cat "$logdir"/*.result 2>/dev/null | grep -c '^SKIP')
fail=$((fail + missing))
ran=$(ls "$logdir"/*.result 2>/dev/null | wc -l)
planned=$(wc -l <"$plan")
if [ "$ran" -ne "$planned" ]; then
    echo "FAIL runner: $planned tests planned, $ran reported"
    fail=$((fail + planned - ran))
fi
[ "$fail" -gt 0 ] && echo "failed:" $(grep -l '^FAIL' "$logdir"/*.result 2>/dev/null | sed 's|.*/||; s|\.result$||')$missing_names
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
