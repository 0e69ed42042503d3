#!/bin/sh
# Every program's command line: --help prints the usage and exits 0,
# --version prints corio's version, an unknown option is refused by name
# with status 2. corio-ftpd reports a failed listen once and a name that
# does not resolve as such; it and `corio-ftpd passwd` warn about a user
# root that does not exist; --help states the default listen address.
set -u
BIN=${CIO_BIN:-$PWD/build/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
n=0
for p in "$BIN"/*; do
    [ -x "$p" ] || continue
    name=${p##*/}
    n=$((n + 1))
    "$p" --help >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    [ $rc -eq 0 ] || bad "$name --help: exit status $rc"
    grep -q "usage: .*$name" "$tmp/out" || bad "$name --help: no usage on stdout"
    "$p" --version >"$tmp/out" 2>&1 </dev/null
    rc=$?
    [ $rc -eq 0 ] && grep -q '1\.0\.0' "$tmp/out" || bad "$name --version: $rc $(cat "$tmp/out")"
    "$p" --bogus >"$tmp/out" 2>"$tmp/err" </dev/null
    rc=$?
    [ $rc -eq 2 ] || bad "$name --bogus: exit status $rc"
    grep -q -- "--bogus" "$tmp/err" || bad "$name --bogus: $(head -n 1 "$tmp/err")"
done
[ $n -ge 15 ] || bad "only $n programs in $BIN"

ftpd=$BIN/corio-ftpd
for w in 1 2; do
    timeout 20 "$ftpd" --root "$tmp" --anonymous --workers $w \
        --listen no-such-host.invalid -p 0 >"$tmp/out" 2>"$tmp/err"
    rc=$?
    [ $rc -eq 1 ] || bad "ftpd (workers $w) on an unknown host: exit status $rc"
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || bad "ftpd (workers $w): $(cat "$tmp/err")"
    grep -q 'cannot listen on no-such-host.invalid.*\(no such host name\|name lookup failed\)' \
        "$tmp/err" || bad "ftpd (workers $w): $(cat "$tmp/err")"
done
"$ftpd" --help | grep -q -- '--listen.*default: every IPv6 and IPv4 address' ||
    bad "ftpd --help: default listen address"
echo secret | "$ftpd" passwd alice "$tmp/missing" >"$tmp/out" 2>"$tmp/err" ||
    bad "passwd failed: $(cat "$tmp/err")"
grep -q "alice: root $tmp/missing is not a directory" "$tmp/err" ||
    bad "passwd: no warning about the missing root: $(cat "$tmp/err")"
cat "$tmp/out" >"$tmp/users"
timeout 20 "$ftpd" --root "$tmp" --users-file "$tmp/users" --workers 1 \
    --listen 127.0.0.1 -p 0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/out" && break
    sleep 0.1
done
kill -TERM $pid
wait $pid
grep -q "user alice: root $tmp/missing is not a directory" "$tmp/err" ||
    bad "ftpd: no warning about the missing root: $(cat "$tmp/err")"
[ $fail -eq 0 ] || exit 1
echo "ok - $n programs: --help, --version, unknown options; corio-ftpd's errors and warnings"
