#!/bin/sh
# corio-ftpd with curl: listing, download, upload, resume in both
# directions, active mode (PORT/EPRT), EPSV and PASV, quote commands.
# CIO_TEST_TIMEOUT=60
set -eu
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
. tests/ftpd_server.inc
mkdir "$tmp/root" "$tmp/root/dir"
head -c 3000000 /dev/urandom > "$tmp/root/dir/data.bin"
ftpd_start "carl:pw"
url="ftp://carl:pw@127.0.0.1:$port"
c() { curl -sS --max-time 30 "$@"; }

c "$url/dir/" | grep -q ' data.bin$' || fail "LIST"
[ "$(c -l "$url/dir/")" = "data.bin" ] || fail "NLST"
c -o "$tmp/got" "$url/dir/data.bin" && cmp "$tmp/got" "$tmp/root/dir/data.bin" || fail "RETR (EPSV)"
c --disable-epsv -o "$tmp/got" "$url/dir/data.bin" && cmp "$tmp/got" "$tmp/root/dir/data.bin" || fail "RETR (PASV)"
c -P 127.0.0.1 -o "$tmp/got" "$url/dir/data.bin" && cmp "$tmp/got" "$tmp/root/dir/data.bin" || fail "RETR (EPRT)"
c -P 127.0.0.1 --disable-eprt -o "$tmp/got" "$url/dir/data.bin" && cmp "$tmp/got" "$tmp/root/dir/data.bin" || fail "RETR (PORT)"
# Download resume: a partial file continued with -C -.
head -c 1000000 "$tmp/root/dir/data.bin" > "$tmp/part"
c -C - -o "$tmp/part" "$url/dir/data.bin" && cmp "$tmp/part" "$tmp/root/dir/data.bin" || fail "download resume"
# Upload, then upload resume (-C - uses SIZE then APPE).
c -T "$tmp/root/dir/data.bin" "$url/up/new.bin" --ftp-create-dirs || fail "STOR"
cmp "$tmp/root/up/new.bin" "$tmp/root/dir/data.bin" || fail "uploaded data"
head -c 1234567 "$tmp/root/dir/data.bin" > "$tmp/root/up/resumed.bin"
c -C - -T "$tmp/root/dir/data.bin" "$url/up/resumed.bin" || fail "upload resume"
cmp "$tmp/root/up/resumed.bin" "$tmp/root/dir/data.bin" || fail "resumed data"
c -P 127.0.0.1 -T "$tmp/root/dir/data.bin" "$url/up/active.bin" || fail "active STOR"
cmp "$tmp/root/up/active.bin" "$tmp/root/dir/data.bin" || fail "active data"
# Quote commands: rename and delete.
c -Q "RNFR up/active.bin" -Q "RNTO up/renamed.bin" -Q "DELE up/new.bin" "$url/" >/dev/null || fail "quote"
[ -f "$tmp/root/up/renamed.bin" ] && [ ! -e "$tmp/root/up/new.bin" ] || fail "rename/delete"
# Wrong password: curl reports a login failure (exit 67).
rc=0; curl -sS --max-time 10 "ftp://carl:bad@127.0.0.1:$port/" >/dev/null 2>&1 || rc=$?
[ "$rc" = 67 ] || fail "bad password gave curl exit $rc"
kill -TERM "$pid"; wait "$pid" || fail "server exit status $?"
pid=
if grep -q 'AddressSanitizer\|runtime error' "$tmp/err"; then fail "sanitizer report"; fi
echo ok
