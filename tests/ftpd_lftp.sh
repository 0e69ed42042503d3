#!/bin/sh
# corio-ftpd with lftp: mirror a tree down and back up (reverse mirror),
# byte for byte, with nested directories, empty files and odd names.
# CIO_TEST_TIMEOUT=60
set -eu
command -v lftp >/dev/null || { echo "SKIP: lftp not installed"; exit 77; }
. tests/ftpd_server.inc
mkdir -p "$tmp/root/tree/a/b/c" "$tmp/root/tree/empty dir" "$tmp/local"
head -c 2000000 /dev/urandom > "$tmp/root/tree/a/big.bin"
: > "$tmp/root/tree/a/b/zero"
echo one > "$tmp/root/tree/a/b/c/one.txt"
echo spaced > "$tmp/root/tree/with space.txt"
for i in $(seq 30); do echo "$i" > "$tmp/root/tree/a/f$i"; done
ftpd_start "lee:pw"
run_lftp() {
    timeout 40 lftp -c "set net:max-retries 1; set net:timeout 10; \
        set ftp:ssl-allow no; set xfer:clobber yes; \
        open -u lee,pw -p $port 127.0.0.1; $1" >"$tmp/lftp.log" 2>&1 ||
        { cat "$tmp/lftp.log"; fail "lftp: $1"; }
}
run_lftp "mirror --parallel=4 tree $tmp/local/tree"
diff -r "$tmp/root/tree" "$tmp/local/tree" || fail "mirror down differs"
echo changed > "$tmp/local/tree/a/b/c/new.txt"
run_lftp "mirror -R --parallel=4 $tmp/local/tree up"
diff -r "$tmp/local/tree" "$tmp/root/up" || fail "mirror up differs"
run_lftp "set ftp:passive-mode off; mirror tree $tmp/local/active"
diff -r "$tmp/root/tree" "$tmp/local/active" || fail "active mirror differs"
kill -TERM "$pid"; wait "$pid" || fail "server exit status $?"
pid=
if grep -q 'AddressSanitizer\|runtime error' "$tmp/err"; then fail "sanitizer report"; fi
echo ok
