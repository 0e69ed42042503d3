#!/bin/sh
# `make run`'s script, as a user meets it: it creates ./ftp-root with a
# README, prints the demo password, and serves anonymous downloads and the
# demo user's uploads to curl; Ctrl-C (SIGINT) stops it cleanly.
set -u
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
repo=$PWD
build="$repo/${BUILD:-build}"
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; cat "$tmp/out" 2>/dev/null | sed 's/^/    /'; exit 1; }

cd "$tmp" || exit 1
PORT=0 sh "$repo/scripts/run.sh" "$build" >"$tmp/out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/out" && break
    sleep 0.1
done
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
[ -n "$port" ] || fail "no listening line"
password=$(sed -n 's|^  demo user:  demo / \(.*\)$|\1|p' "$tmp/out")
[ -n "$password" ] || fail "no demo password printed"
[ -f ftp-root/README ] || fail "ftp-root/README was not created"

curl -s --max-time 10 "ftp://127.0.0.1:$port/README" >"$tmp/readme" ||
    fail "anonymous download of README"
cmp -s "$tmp/readme" ftp-root/README || fail "README differs"
echo "hello" >"$tmp/up.txt"
curl -s --max-time 10 -T "$tmp/up.txt" "ftp://127.0.0.1:$port/up.txt" 2>/dev/null &&
    fail "anonymous upload was accepted"
curl -s --max-time 10 -T "$tmp/up.txt" "ftp://demo:$password@127.0.0.1:$port/up.txt" ||
    fail "demo user upload"
cmp -s "$tmp/up.txt" ftp-root/up.txt || fail "uploaded file differs"

kill -INT "$pid"
wait "$pid"
rc=$?
pid=
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGINT"
echo "ok - make run serves ./ftp-root to curl and stops on Ctrl-C"
