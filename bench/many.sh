#!/bin/sh
# Ten million suspended coroutines in one process (bench/many.c): copied
# stacks against stacks of their own, shrunk, at a tenth of the count;
# memory per coroutine and the time to create, start and wake them all.
# Needs about 3 GB of memory; N=... and BASE_N=... change the counts.
set -eu
bin="${CIO_BIN:-build/bin}/bench_many"
set -- -n "${N:-10000000}" -b "${BASE_N:-1000000}"
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null 2>&1; then
    exec taskset -c $(($(nproc) - 1)) "$bin" "$@"
fi
exec "$bin" "$@"
