#!/bin/sh
# corio-ftpd FTPS with real clients, each with TLS 1.2 and 1.3, tls =
# required and the data connections bound to the control session:
#   lftp (ftp:ssl-force, ftp:ssl-protect-data): get, put, ls
#   curl --ssl-reqd (explicit) and ftps:// (implicit): download, upload,
#   resume, listing; curl against the wrong name fails verification.
# CIO_TEST_TIMEOUT=90
set -eu
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
command -v lftp >/dev/null || { echo "SKIP: lftp not installed"; exit 77; }
. tests/ftpd_server.inc
mkdir "$tmp/root"
head -c 3000000 /dev/urandom > "$tmp/root/data.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
chmod 600 "$tmp/key.pem"
"$FTPD" --root "$tmp/root" --listen 127.0.0.1 -p 0 --user "carl:pw" \
    --login-delay 0 --tls required --tls-cert "$tmp/cert.pem" \
    --tls-key "$tmp/key.pem" --tls-implicit-port 0 >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do grep -q 'implicit FTPS' "$tmp/out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/out")
iport=$(sed -n 's/^implicit FTPS on .*:\([0-9]*\)$/\1/p' "$tmp/out")
[ -n "$port" ] && [ -n "$iport" ] || fail "server did not start"

c() { curl -sS --max-time 30 --cacert "$tmp/cert.pem" "$@"; }
for v in 1.2 1.3; do
    case $v in 1.2) cv="--tls-max 1.2" prio="NORMAL:-VERS-ALL:+VERS-TLS1.2" ;;
               1.3) cv="--tlsv1.3" prio="NORMAL:-VERS-ALL:+VERS-TLS1.3" ;; esac
    # Without --ssl-reqd curl stays in plaintext, which tls = required refuses.
    rc=0; c $cv "ftp://carl:pw@127.0.0.1:$port/" >/dev/null 2>&1 || rc=$?
    [ "$rc" != 0 ] || fail "plaintext login accepted ($v)"
    url="ftp://carl:pw@localhost:$port"
    c $cv --ssl-reqd -o "$tmp/got" "$url/data.bin" &&
        cmp "$tmp/got" "$tmp/root/data.bin" || fail "curl explicit RETR $v"
    c $cv --ssl-reqd -T "$tmp/root/data.bin" "$url/up-$v.bin" &&
        cmp "$tmp/root/up-$v.bin" "$tmp/root/data.bin" || fail "curl STOR $v"
    head -c 1000000 "$tmp/root/data.bin" > "$tmp/part"
    c $cv --ssl-reqd -C - -o "$tmp/part" "$url/data.bin" &&
        cmp "$tmp/part" "$tmp/root/data.bin" || fail "curl resume $v"
    c $cv --ssl-reqd -l "$url/" | grep -qx "up-$v.bin" || fail "curl NLST $v"
    c $cv -o "$tmp/got" "ftps://carl:pw@localhost:$iport/data.bin" &&
        cmp "$tmp/got" "$tmp/root/data.bin" || fail "curl implicit $v"
    rc=0; c $cv --ssl-reqd --resolve "wrong.example:$port:127.0.0.1" \
        "ftp://carl:pw@wrong.example:$port/" >/dev/null 2>&1 || rc=$?
    [ "$rc" = 60 ] || fail "wrong name gave curl exit $rc"

    rm -f "$tmp/lgot" "$tmp/root/lftp-$v.bin"
    timeout 60 lftp -c "set ssl:ca-file $tmp/cert.pem; set ssl:priority $prio;
        set ftp:ssl-force true; set ftp:ssl-protect-data true;
        set net:max-retries 1;
        open -u carl,pw -p $port localhost; get data.bin -o $tmp/lgot;
        put $tmp/root/data.bin -o lftp-$v.bin; cls -1" >"$tmp/lftp.out" 2>&1 ||
        { cat "$tmp/lftp.out"; fail "lftp $v"; }
    cmp "$tmp/lgot" "$tmp/root/data.bin" || fail "lftp get $v"
    cmp "$tmp/root/lftp-$v.bin" "$tmp/root/data.bin" || fail "lftp put $v"
    grep -qx "lftp-$v.bin" "$tmp/lftp.out" || fail "lftp ls $v"
done
# Every data connection resumed its control session: none was refused.
! grep -q 'data connection refused' "$tmp/err" || fail "a data connection was refused"
grep -q 'TLS TLSv1.2' "$tmp/err" && grep -q 'TLS TLSv1.3' "$tmp/err" || fail "versions"
kill -TERM "$pid"; wait "$pid" || fail "server exit status $?"
pid=
if grep -q 'AddressSanitizer\|runtime error' "$tmp/err"; then fail "sanitizer report"; fi
echo ok
