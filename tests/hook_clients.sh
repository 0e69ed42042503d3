#!/bin/sh
# hooked_clients end to end: 1000 tasks each run a plain blocking client
# against the program's own echo server; every reply must come back and
# the whole run must take far less than the clients one after another.
# CIO_TEST_TIMEOUT=60
set -eu
out=$("$CIO_BIN/hooked_clients" -n 1000 -r 2 -d 100)
echo "$out"
echo "$out" | grep -q '^listening on 127.0.0.1:[0-9][0-9]*$'
echo "$out" | grep -q '^1001 of 1001 clients got every reply back$'
one=$(echo "$out" | sed -n 's/^one client: \([0-9]*\)\..*/\1/p')
all=$(echo "$out" | sed -n 's/^1000 clients at once: \([0-9]*\)\..*/\1/p')
[ -n "$one" ] && [ -n "$all" ]
# One after another would be 1000 x one client (200+ s). Generous bound:
# at once must stay under 40 x one client (about 8 s).
if [ "$all" -ge $((one * 40)) ]; then
    echo "FAIL: 1000 clients took $all ms, one took $one ms" >&2
    exit 1
fi
# Fewer, longer clients: the ratio to one client gets close to 1.
out=$("$CIO_BIN/hooked_clients" -n 50 -r 1 -d 300)
echo "$out"
echo "$out" | grep -q '^51 of 51 clients got every reply back$'
