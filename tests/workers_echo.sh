#!/bin/sh
# echo_server -w 2: verified concurrent load through the workers' SO_REUSEPORT
# listeners, then SIGTERM while clients hold connections open: the clients
# see their connections end and the server exits 0 within the grace time.
# CIO_TEST_TIMEOUT=60
set -u
BIN=${CIO_BIN:-$PWD/build/bin}
for p in echo_server bench_loadgen; do
    [ -x "$BIN/$p" ] || { echo "SKIP: $BIN/$p is not built"; exit 77; }
done
tmp=$(mktemp -d) || exit 1
pid=""
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*"
    cat "$tmp/server.log"
    exit 1
}

"$BIN/echo_server" -p 0 -w 2 >"$tmp/server.log" 2>&1 &
pid=$!
port=""
for i in $(seq 1 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' \
        "$tmp/server.log" 2>/dev/null | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || fail "echo_server -w 2 did not start"
grep -q "2 workers" "$tmp/server.log" || fail "no worker count in the banner"

# Every reply is checked byte for byte; any mismatch is a non-zero exit.
"$BIN/bench_loadgen" -p "$port" -c 16 -s 700 -n 4000 >"$tmp/load.log" 2>&1 ||
    fail "load: $(cat "$tmp/load.log")"
echo "load: $(cat "$tmp/load.log")"

# Six connections open and idle when SIGTERM arrives.
python3 - "$port" "$pid" <<'EOF' || fail "shutdown with connections open"
import os, signal, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
conns = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(6)]
for i, c in enumerate(conns):
    msg = b"still here %d" % i
    c.sendall(msg)
    got = b""
    while len(got) < len(msg):
        part = c.recv(100)
        assert part, "closed early"
        got += part
    assert got == msg, got
start = time.monotonic()
os.kill(pid, signal.SIGTERM)
for c in conns:
    try:
        assert c.recv(1) == b""
    except ConnectionResetError:
        pass
took = time.monotonic() - start
print("connections closed %.2f s after SIGTERM" % took)
assert took < 5, took
EOF
wait "$pid"
rc=$?
pid=""
[ "$rc" -eq 0 ] || fail "echo_server exited with status $rc"
echo "ok"
