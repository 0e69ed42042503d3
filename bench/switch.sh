#!/bin/sh
# Context switch benchmark (bench/switch.c): corio against swapcontext.
set -eu
"${CIO_BIN:-build/bin}/bench_switch" "$@"
