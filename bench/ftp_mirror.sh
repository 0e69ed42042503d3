#!/bin/sh
# corio-ftp mirror -j 16 against lftp mirror --parallel=16, same server, same
# run: a tree of FTP_BENCH_FILES files (default 1000) totalling FTP_BENCH_MB
# MiB (default 1024) in 10 directories, mirrored down three times by each
# client in turn; the medians are compared. Every run is checked (file count
# and bytes).
#
#   sh bench/ftp_mirror.sh                       # 1000 files, 1 GiB
#   FTP_BENCH_MB=128 sh bench/ftp_mirror.sh      # a quicker run
#   FTP_BENCH_SERVER=corio-ftpd sh bench/ftp_mirror.sh
#
# The server is pyftpdlib (Debian python3-pyftpdlib) unless FTP_BENCH_SERVER
# names corio-ftpd, which must then be built. Ends with a line
#   RESULT corio_mb_s=... lftp_mb_s=... ratio=...
# (MB = 10^6 bytes; ratio = corio / lftp).
set -eu
BUILD=${BUILD:-build}
BIN=${CIO_BIN:-$PWD/$BUILD/bin}
FILES=${FTP_BENCH_FILES:-1000}
MB=${FTP_BENCH_MB:-1024}
JOBS=${FTP_BENCH_JOBS:-16}
RUNS=${FTP_BENCH_RUNS:-3}
SERVER=${FTP_BENCH_SERVER:-pyftpdlib}
USER_NAME=bench
PASSWORD=bench-pass

[ -x "$BIN/corio-ftp" ] || { echo "ftp_mirror: build corio-ftp first (make)"; exit 1; }
command -v lftp >/dev/null || { echo "ftp_mirror: lftp is not installed"; exit 1; }

work=$(mktemp -d)
server_pid=
cleanup() {
    # Under set -e a failed wait (the server dies of the SIGTERM) would end
    # the script here, with status 143 and the tree left behind.
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "ftp_mirror: making $FILES files, $MB MiB in all"
python3 - "$work/tree" "$FILES" "$MB" <<'PY'
import os, random, sys
root, files, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
total = mib << 20
rng = random.Random(1)
weights = [rng.uniform(0.5, 1.5) for _ in range(files)]
scale = total / sum(weights)
sizes = [int(w * scale) for w in weights]
sizes[-1] += total - sum(sizes)
block = os.urandom(1 << 20)
for i, size in enumerate(sizes):
    d = os.path.join(root, "d%02d" % (i % 10))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%04d.bin" % i), "wb") as f:
        f.write(os.urandom(64))  # every file differs
        left = size - 64
        while left > 0:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
PY
bytes=$(du -sb "$work/tree" | cut -f1)

case $SERVER in
pyftpdlib)
    cat >"$work/server.py" <<'PY'
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
auth = DummyAuthorizer()
auth.add_user(sys.argv[2], sys.argv[3], sys.argv[1], perm="elr")
FTPHandler.authorizer = auth
server = FTPServer(("127.0.0.1", 0), FTPHandler)
server.max_cons = server.max_cons_per_ip = 1024
print("listening on 127.0.0.1:%d" % server.socket.getsockname()[1], flush=True)
server.serve_forever()
PY
    /usr/bin/python3 "$work/server.py" "$work" "$USER_NAME" "$PASSWORD" \
        >"$work/server.out" 2>"$work/server.err" &
    ;;
corio-ftpd)
    "$BIN/corio-ftpd" --root "$work" --listen 127.0.0.1 --port 0 \
        --user "$USER_NAME:$PASSWORD" >"$work/server.out" 2>"$work/server.err" &
    ;;
*) echo "ftp_mirror: unknown server $SERVER"; exit 1 ;;
esac
server_pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on .*:\([0-9][0-9]*\).*/\1/p' "$work/server.out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { echo "ftp_mirror: $SERVER did not start"; cat "$work/server.err"; exit 1; }
echo "ftp_mirror: $SERVER on port $port, $JOBS transfers at once, $RUNS runs each"

now() { date +%s.%N; }

check_copy() { # dir
    n=$(find "$1" -type f | wc -l)
    b=$(du -sb "$1" | cut -f1)
    # du counts the directories too; compare the files' bytes
    fb=$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    want=$(find "$work/tree" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    if [ "$n" -ne "$FILES" ] || [ "$fb" -ne "$want" ]; then
        echo "ftp_mirror: incomplete copy in $1: $n files, $fb bytes ($b on disk)"
        exit 1
    fi
}

run_corio() {
    rm -rf "$work/out"
    t0=$(now)
    CORIO_FTP_PASSWORD=$PASSWORD "$BIN/corio-ftp" -q -j "$JOBS" mirror \
        "ftp://$USER_NAME@127.0.0.1:$port/tree" "$work/out"
    t1=$(now)
    check_copy "$work/out"
    echo "$t0 $t1" | awk -v b="$bytes" '{printf "%.1f\n", b / 1e6 / ($2 - $1)}'
}

run_lftp() {
    rm -rf "$work/out"
    t0=$(now)
    lftp -u "$USER_NAME,$PASSWORD" -p "$port" -e "set ftp:ssl-allow no; \
set net:max-retries 5; set net:reconnect-interval-base 1; \
set cmd:fail-exit yes; \
mirror --parallel=$JOBS /tree $work/out; quit" 127.0.0.1 >/dev/null
    t1=$(now)
    check_copy "$work/out"
    echo "$t0 $t1" | awk -v b="$bytes" '{printf "%.1f\n", b / 1e6 / ($2 - $1)}'
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

: >"$work/corio.txt"
: >"$work/lftp.txt"
for i in $(seq "$RUNS"); do
    c=$(run_corio)
    l=$(run_lftp)
    echo "run $i: corio-ftp $c MB/s, lftp $l MB/s"
    echo "$c" >>"$work/corio.txt"
    echo "$l" >>"$work/lftp.txt"
done
corio=$(median <"$work/corio.txt")
lftp_rate=$(median <"$work/lftp.txt")
ratio=$(awk -v a="$corio" -v b="$lftp_rate" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
echo "RESULT corio_mb_s=$corio lftp_mb_s=$lftp_rate ratio=$ratio"
