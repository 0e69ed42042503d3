#!/bin/sh
# Context switch benchmark (bench/switch.c): corio against swapcontext,
# Boost.Context's jump_fcontext (when built in) and a bare assembly floor,
# interleaved in one process pinned to one CPU (PIN=0 lets it float).
set -eu
bin="${CIO_BIN:-build/bin}/bench_switch"
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null 2>&1; then
    cpus=$(nproc)
    exec taskset -c $((cpus - 1)) "$bin" "$@"
fi
exec "$bin" "$@"
