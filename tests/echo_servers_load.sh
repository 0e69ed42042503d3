#!/bin/sh
# The load generator against the echo servers and the epoll baseline on
# the backend named by CIO_BACKEND: fixed round-trip counts at 1, 100 and
# 1000 connections, every reply verified (upper-cased for select_echo), and
# a reply that does not match must be reported as an error. echo_server
# (the hub, copied stacks and own) at 1000 connections takes the hub's
# paths for many tasks (reports batched, stacks and completions warmed
# ahead), which the sanitizer pass then checks too.
# CIO_TEST_ALL_BACKENDS CIO_TEST_TIMEOUT=90
set -u
bin=${CIO_BIN:-$PWD/build/bin}
backend=${CIO_BACKEND:-epoll}
ulimit -n 4096 2>/dev/null || true
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

start() { # program args...
    out="$tmp/$(basename "$1").out" # one file per server: no stale line
    "$@" -p 0 >"$out" 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 100); do
        grep -qs '^listening on 127.0.0.1:' "$out" && break
        sleep 0.1
    done
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] || fail "$1 printed no listening line"
}

stop() {
    kill -TERM "$pid"
    wait "$pid" || fail "server exited with status $? on SIGTERM"
    pid=
}

load() { # expect-status args...
    want=$1
    shift
    "$bin/bench_loadgen" -p "$port" "$@" >"$tmp/load" 2>"$tmp/load.err"
    rc=$?
    cat "$tmp/load"
    [ "$rc" = "$want" ] || { cat "$tmp/load.err"; fail "loadgen $* exited $rc"; }
    grep -q '^RESULT rtt_per_s=[0-9]* p50_us=[0-9]* p99_us=[0-9]* errors=' \
        "$tmp/load" || fail "no RESULT line"
}

for server in select_echo selectors_echo echo_server echo_server_own \
    epoll_echo; do
    upper=
    case $server in
    select_echo) upper=-u; start "$bin/$server" -b "$backend" ;;
    selectors_echo | echo_server) start "$bin/$server" -b "$backend" ;;
    echo_server_own) start "$bin/echo_server" -b "$backend" -s own ;;
    epoll_echo) start "$bin/bench_epoll_echo" ;;
    esac
    load 0 -c 1 -n 2000 -s 64 $upper
    grep -q ' errors=0 ' "$tmp/load" || fail "errors reported"
    grep -q ' rtts=2000 ' "$tmp/load" || fail "not every round trip done"
    load 0 -c 100 -n 10000 -s 1000 $upper
    # select takes fds below 1024: leave room for the previous run's
    # connections, which the server may not have closed yet.
    many=1000
    [ "$backend" = select ] && many=900
    load 0 -c $many -n 5000 -s 16 $upper
    load 0 -c 4 -n 40 -s 200000 $upper
    # The wrong expectation must be caught as an error.
    if [ "$server" = select_echo ]; then
        load 1 -c 2 -n 10 -s 64
    else
        load 1 -c 2 -n 10 -s 64 -u
    fi
    stop
done
echo ok
