#!/bin/sh
# Memory of idle corio-ftpd sessions: N logged-in control connections
# (anonymous, one worker) that wait for their next command. The server's
# VmRSS growth over N, measured right after the last session's login reply
# (ftpd_idle_now) and again LATER_MS later, past the default 1000 ms after
# which an idle session's own stack is given back (ftpd_idle_later). Each
# session then sends NOOP and must get its 200 (they all still work).
#
#   sh bench/ftpd_idle.sh          N=1000 LATER_MS=1500 RUNS=3
#
# Ends with one line (medians of RUNS fresh servers):
#   RESULT bench=ftpd_idle sessions=N bytes_now=.. bytes_later=..
# Extra corio-ftpd options go in FTPD_OPTS (e.g. "--own-session-stacks").
set -u
bin=${CIO_BIN:-$PWD/build/bin}
n=${N:-1000}
later=${LATER_MS:-1500}
runs=${RUNS:-3}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
. "$(dirname "$0")/lib/common.sh"
bench_init
mkdir -p "$tmp/root"
echo hello >"$tmp/root/file.txt"
: >"$tmp/samples"
for run in $(seq "$runs"); do
    # shellcheck disable=SC2086
    bench_start ftpd "$bin/corio-ftpd" --root "$tmp/root" --anonymous \
        --listen 127.0.0.1 -p 0 --workers 1 --max-per-ip 0 \
        --max-sessions $((n + 100)) --quiet ${FTPD_OPTS:-}
    pid=$(cat "$tmp/ftpd.pid")
    port=$(cat "$tmp/ftpd.port")
    python3 - "$port" "$n" "$pid" "$later" >>"$tmp/samples" <<'PY' || exit 1
import socket, sys, time
port, n, pid, later = (int(a) for a in sys.argv[1:])
def rss():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
def login():
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    assert f.readline().startswith(b"220")
    s.sendall(b"USER anonymous\r\nPASS x@y\r\n")
    f.readline()
    line = f.readline()
    assert line.startswith(b"230"), line
    return s, f
warm = [login() for _ in range(20)]  # the server's own first-use memory
time.sleep(0.2)
before = rss()
sessions = [login() for _ in range(n)]
now = rss()
time.sleep(later / 1000.0)
after = rss()
for s, f in sessions + warm:
    s.sendall(b"NOOP\r\n")
for s, f in sessions + warm:
    line = f.readline()
    assert line.startswith(b"200"), line
print("%d %d" % ((now - before) / n, (after - before) / n))
PY
    bench_stop ftpd || exit 1
done
awk -v n="$n" "$bench_awk"'
{ now = now " " $1; later = later " " $2 }
END {
    printf "RESULT bench=ftpd_idle sessions=%d bytes_now=%d bytes_later=%d\n",
           n, median(now), median(later)
}' "$tmp/samples"
