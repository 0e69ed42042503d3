#!/bin/sh
# corio-ftpd against vsftpd and pyftpdlib in the same run, each started here
# with its own config on a loopback port, serving the same tmpfs directory
# (so the disk is not what is measured) with anonymous access (no password
# hashing anywhere) and a passive port range (bind(0) for every data
# connection costs the kernel more than the whole FTP session).
#
# The load generator is bench_ftpload (C, on corio). Prints RESULT lines:
#   retr_1g / stor_1g        single stream: MB/s, server CPU s per GiB
#   retr_NxM / stor_NxM      N clients with 10 MiB each: aggregate MB/s,
#                            p99 transfer time, server CPU s per GiB
#   sessions                 login+LIST+QUIT per second, 50 clients
#   connect                  of 1000 simultaneous connects, greeted in 1 s
#   idle_memory              server memory (PSS) growth per idle logged-in
#                            session, 1000 -> 10000 (vsftpd: 100 -> 1000)
#   retr_100x10m_squeezed    retr_100x10m for corio-ftpd-sq (default workers,
#                            squeezed onto the last CPU once started, with
#                            taskset -a -p, as a container's CPU quota does)
#                            and corio-ftpd-1c (--workers 1 started on that
#                            CPU), with taskset and 2 CPUs or more
# corio-ftpd-w1 is corio-ftpd with --workers 1 (one thread). The -tls
# servers are the same with FTPS (one RSA 2048 certificate for all three;
# pyftpdlib's TLS_FTPHandler), measured with bench_ftpload -T: AUTH TLS, PROT
# P, data connections resuming the control session, every server offered
# only the TLS 1.3 suite FTPS_SUITE (default TLS_AES_256_GCM_SHA384, what
# OpenSSL's clients pick first) so that all encrypt alike; their lines say
# tls=VERSION/CIPHER and resumed=N (data connections that resumed). For
# them the sessions line counts a full handshake (control) and a resumed
# one (LIST) each: full_hs_per_s, resumed_hs_per_s. Transfer lines also
# give client_cpu_s_per_gib, the load generator's own CPU per GiB (with
# TLS it decrypts or encrypts every byte, on the same cores).
# corio-ftpd-uring is corio-ftpd on the io_uring backend (CIO_BACKEND=uring;
# listed where io_uring runs: bench_uring_echo tells). All servers run
# at once, idle but for the one measured, and every test takes its runs in
# turns (server A, B, C, then B, C, A, ...) so that the shared machine's
# drifts hit them all alike. Medians of FTPD_BENCH_RUNS (default 3; 15 for
# the single 1 GiB streams, whose runs range over 2x); one run for memory.
# FTPD_BENCH_SERVERS picks servers and FTPD_BENCH_TESTS tests by name
# (e.g. "stor_500x10m sessions").
set -u
BUILD=${BUILD:-build}
BIN=${CIO_BIN:-$PWD/$BUILD/bin}
LOAD="$BIN/bench_ftpload"
REAP="$BIN/bench_reap" # every server runs under it: see cpu_ticks
RUNS=${FTPD_BENCH_RUNS:-3}
. "$(dirname "$0")/lib/common.sh"
uring=
bench_runs_here "$BIN/bench_uring_echo" && uring=corio-ftpd-uring
SERVERS=${FTPD_BENCH_SERVERS:-"corio-ftpd corio-ftpd-w1 $uring vsftpd pyftpdlib corio-ftpd-tls vsftpd-tls pyftpdlib-tls"}
TESTS=${FTPD_BENCH_TESTS:-"retr_1g stor_1g retr_100x10m retr_500x10m stor_100x10m stor_500x10m sessions connect idle_memory retr_100x10m_squeezed"}
last_cpu=$(($(nproc) - 1))
HZ=$(getconf CLK_TCK)
[ -x "$LOAD" ] && [ -x "$REAP" ] && [ -x "$BIN/corio-ftpd" ] || { echo "bench: build first" >&2; exit 1; }
base=/dev/shm
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
work=$(mktemp -d "$base/ftpbench.XXXXXX")
pid=
live= # servers started, each with $work/NAME.srv holding "PID PORT"
cleanup() {
    for s in $live; do
        read -r p _ <"$work/$s.srv" && kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM
root="$work/root"
mkdir -p "$root/up"
chmod 755 "$root"
chmod 777 "$root/up"
head -c $((1 << 30)) /dev/zero > "$root/big"
head -c $((10 << 20)) /dev/urandom > "$root/f10m"
ulimit -n "$(ulimit -Hn)" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null &&
    chmod 600 "$work/key.pem" ||
    SERVERS=$(echo "$SERVERS" | tr ' ' '\n' | grep -v -- -tls)
FTPS_SUITE=${FTPS_SUITE:-TLS_AES_256_GCM_SHA384}
tls_flag() { case $srv in *-tls) echo -T -C "$FTPS_SUITE" ;; esac; } # for bench_ftpload

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port
    for _ in $(seq 100); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start_server() { # name -> pid, port, and $work/NAME.srv
    case $1 in
    corio-ftpd | corio-ftpd-w1 | corio-ftpd-tls | corio-ftpd-uring | corio-ftpd-sq | corio-ftpd-1c)
        # Each its own passive range: they run at once.
        workers=0 pasv=30000-34999 tls= backend=epoll on=
        [ "$1" = corio-ftpd-w1 ] && workers=1 pasv=35000-39999
        [ "$1" = corio-ftpd-uring ] && pasv=55000-59999 backend=uring
        [ "$1" = corio-ftpd-tls ] && pasv=60000-62999 &&
            tls="--tls-cert $work/cert.pem --tls-key $work/key.pem"
        [ "$1" = corio-ftpd-sq ] && pasv=25000-27499
        [ "$1" = corio-ftpd-1c ] && workers=1 pasv=27500-29999 \
            on="taskset -c $last_cpu"
        CIO_BACKEND=$backend "$REAP" $on "$BIN/corio-ftpd" --root "$root" --listen 127.0.0.1 -p 0 --anonymous \
            --anon-upload-dir /up --quiet --fsync none --max-per-ip 0 \
            --max-sessions 20000 --workers "$workers" --pasv-ports "$pasv" $tls \
            >"$work/$1.out" 2>"$work/$1.err" &
        pid=$!
        for _ in $(seq 100); do
            grep -qs listening "$work/$1.out" && break
            sleep 0.1
        done
        port=$(sed -n 's/.*:\([0-9]*\)$/\1/p' "$work/$1.out")
        if [ "$1" = corio-ftpd-sq ]; then # its workers lose a CPU now
            for p in $(descendants "$pid"); do
                taskset -a -p -c "$last_cpu" "$p" >/dev/null 2>&1
            done
            sleep 1.2 # the group notices within a second
        fi
        ;;
    vsftpd | vsftpd-tls)
        port=$(free_port) pasv_min=40000 pasv_max=49999
        [ "$1" = vsftpd-tls ] && pasv_min=20000 pasv_max=24999
        cat >"$work/$1.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$port
background=NO
anonymous_enable=YES
local_enable=NO
write_enable=YES
anon_upload_enable=YES
anon_root=$root
no_anon_password=YES
ftp_username=ftp
pasv_enable=YES
pasv_min_port=$pasv_min
pasv_max_port=$pasv_max
max_clients=20000
max_per_ip=0
xferlog_enable=NO
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
secure_chroot_dir=/var/run/vsftpd/empty
use_localtime=NO
dirmessage_enable=NO
EOF
        [ "$1" = vsftpd-tls ] && cat >>"$work/$1.conf" <<EOF
ssl_enable=YES
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
require_ssl_reuse=YES
rsa_cert_file=$work/cert.pem
rsa_private_key_file=$work/key.pem
EOF
        mkdir -p /var/run/vsftpd/empty 2>/dev/null
        "$REAP" /usr/sbin/vsftpd "$work/$1.conf" >"$work/$1.err" 2>&1 &
        pid=$!
        wait_port "$port" || port=
        ;;
    pyftpdlib | pyftpdlib-tls)
        port=$(free_port) handler=FTPHandler ports="50000, 59999"
        [ "$1" = pyftpdlib-tls ] && handler=TLS_FTPHandler ports="15000, 19999"
        cat >"$work/$1.py" <<EOF
import logging
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import $handler as Handler
from pyftpdlib.servers import FTPServer
logging.disable(logging.CRITICAL)
a = DummyAuthorizer()
a.add_anonymous("$root", perm="elradfmw")
Handler.authorizer = a
Handler.passive_ports = range($ports)
if "$1" == "pyftpdlib-tls":
    Handler.certfile = "$work/cert.pem"
    Handler.keyfile = "$work/key.pem"
    Handler.tls_control_required = Handler.tls_data_required = True
s = FTPServer(("127.0.0.1", $port), Handler)
s.max_cons = 20000
s.max_cons_per_ip = 0
s.serve_forever()
EOF
        "$REAP" /usr/bin/python3 "$work/$1.py" >"$work/$1.err" 2>&1 &
        pid=$!
        wait_port "$port" || port=
        ;;
    esac
    [ -n "$port" ] || return 1
    echo "$pid $port" >"$work/$1.srv"
    live="$live $1"
}

use() { # name: the server the next measurement is of
    srv=$1
    read -r pid port <"$work/$1.srv"
}

descendants() { # pid: the pid and all its descendants
    echo "$1"
    for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
        descendants "$c"
    done
}

# utime+stime of the server and of its reaped children, plus those of the
# orphans bench_reap ($pid) reaped: vsftpd's per-session processes are
# not all reaped by vsftpd, and /proc of the server alone misses them.
cpu_ticks() {
    srv_pid=$(cut -d' ' -f1 /proc/"$pid"/task/"$pid"/children)
    cat /proc/"$pid"/stat /proc/"$srv_pid"/stat |
        awk '{t += $14 + $15 + $16 + $17} END {print t}'
}

# Memory of the server and every process under it, as PSS: pages shared by
# several processes (vsftpd forks two per session) count once in the sum.
rss_kib() {
    total=0
    for p in $(descendants "$pid"); do
        r=$(awk '/^Pss:/ {print $2}' /proc/"$p"/smaps_rollup 2>/dev/null)
        total=$((total + ${r:-0}))
    done
    echo "$total"
}

# Waits (up to 5 s) until the server's per-session processes have exited
# and been reaped, so that their CPU time is in the counters.
settle() {
    for _ in $(seq 50); do
        [ "$(descendants "$pid" | wc -l)" -le 2 ] && return
        sleep 0.1
    done
}

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

field() { # key line
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

wanted() { case " $TESTS " in *" $1 "*) return 0 ;; esac; return 1; }

# in_turns RUNS FN: RUNS rounds of FN RUN for every live server in turn,
# each after a second for the previous run's sockets to settle; FN's output
# line for server S goes to $work/m.S (emptied first). Each round starts
# one server further along, so that no server always follows the same one
# (and whatever that one leaves behind).
in_turns() {
    for s in $live; do : >"$work/m.$s"; done
    for r in $(seq "$1"); do
        for s in $(rotate $((r - 1)) $live); do
            use "$s"
            sleep 1
            "$2" "$r" >>"$work/m.$s"
        done
    done
}

col() { cut -d' ' -f"$1" "$work/m.$s" | median; } # median of column N

# One transfer run ($name, $mode, $n clients, $xfer_args): "MB/s p99 CPU
# errors client-CPU TLS resumed".
transfer_run() {
    before=$(cpu_ticks)
    out=$(/usr/bin/time -f "%U %S" -o "$work/time" "$LOAD" "$mode" -p "$port" \
        -n "$n" -x "up/$name-$1" $xfer_args $(tls_flag))
    settle
    after=$(cpu_ticks)
    [ "$mode" = stor ] && rm -f "$root/up/$name-$1"*
    errors=$(field errors "$out")
    tls=$(field version "$out")/$(field cipher "$out")
    awk -v t=$((after - before)) -v hz="$HZ" -v b="$(field bytes "$out")" \
        -v m="$(field mbps "$out")" -v p="$(field p99_ms "$out")" -v e="${errors:-1}" \
        -v c="$(awk '{print $1 + $2}' "$work/time" 2>/dev/null)" -v tls="$tls" \
        -v r="$(field resumed "$out")" \
        'BEGIN {g = b / 1073741824
            printf "%s %s %.2f %s %.2f %s %s\n", m, p, (b > 0) ? t / hz / g : 0, e,
                (b > 0) ? c / g : 0, tls, r}'
}

tls_fields() { # for a -tls server: its TLS version/cipher, resumed count
    case $s in *-tls) echo " tls=$(col 6) resumed=$(col 7)" ;; esac
}

# transfer NAME MODE CLIENTS RUNS ARGS...: a RESULT line per server, the
# medians over RUNS runs taken in turns.
transfer() {
    name=$1 mode=$2 n=$3 runs=$4
    wanted "$name" || return 0
    shift 4
    xfer_args="$*" # plain words: -f FILE, -s BYTES
    in_turns "$runs" transfer_run
    for s in $live; do
        echo "RESULT server=$s test=$name clients=$n mbps=$(col 1)" \
            "p99_ms=$(col 2) cpu_s_per_gib=$(col 3)" \
            "client_cpu_s_per_gib=$(col 5)$(tls_fields)" \
            "errors=$(awk '{s += $4} END {print s}' "$work/m.$s") runs=$runs"
    done
}

idle_memory() {
    wanted idle_memory || return 0
    lo=1000 hi=10000
    [ "$srv" = vsftpd ] && lo=100 hi=1000  # two processes per session
    "$LOAD" idle -p "$port" -n "$lo" -t 120 >"$work/idle1" 2>&1 &
    l1=$!
    for _ in $(seq 600); do grep -q ready "$work/idle1" && break; sleep 0.1; done
    sleep 2
    m1=$(rss_kib)
    "$LOAD" idle -p "$port" -n $((hi - lo)) -t 120 >"$work/idle2" 2>&1 &
    l2=$!
    for _ in $(seq 1200); do grep -q ready "$work/idle2" && break; sleep 0.1; done
    sleep 3  # past the stack shrink delay
    m2=$(rss_kib)
    kill "$l1" "$l2" 2>/dev/null
    wait "$l1" "$l2" 2>/dev/null
    per=$(awk -v a="$m1" -v b="$m2" -v n=$((hi - lo)) 'BEGIN {printf "%.1f", (b - a) / n}')
    echo "RESULT server=$srv test=idle_memory from=$lo to=$hi kib_per_session=$per pss_from_kib=$m1 pss_to_kib=$m2 $(cat "$work/idle2" | head -n 1)"
}

# One run of 50 clients doing login+LIST+QUIT: "per_second cpu_ms_each
# resumed_per_second".
sessions_run() {
    before=$(cpu_ticks)
    out=$("$LOAD" sessions -p "$port" -n 50 -t 5 $(tls_flag))
    settle
    after=$(cpu_ticks)
    awk -v t=$((after - before)) -v hz="$HZ" -v n="$(field sessions "$out")" \
        -v r="$(field per_sec "$out")" -v rr="$(field resumed_per_sec "$out")" \
        'BEGIN {printf "%s %.3f %s\n", r, (n > 0) ? 1000 * t / hz / n : 0, rr}'
}

sessions() {
    wanted sessions || return 0
    in_turns "$RUNS" sessions_run
    for s in $live; do
        hs=
        case $s in *-tls) hs=" full_hs_per_s=$(col 1) resumed_hs_per_s=$(col 3)" ;; esac
        echo "RESULT server=$s test=sessions clients=50 per_sec=$(col 1)" \
            "cpu_ms_per_session=$(col 2)$hs runs=$RUNS"
    done
}

connects_run() { field greeted "$("$LOAD" connect -p "$port" -n 1000)"; }

connects() {
    wanted connect || return 0
    in_turns "$RUNS" connects_run
    for s in $live; do
        echo "RESULT server=$s test=connect clients=1000 greeted_1s=$(col 1) runs=$RUNS"
    done
}

for s in $SERVERS; do
    case $s in
    vsftpd*) [ -x /usr/sbin/vsftpd ] || { echo "RESULT server=vsftpd skipped=not-installed"; continue; } ;;
    pyftpdlib*) /usr/bin/python3 -c 'import pyftpdlib' 2>/dev/null || { echo "RESULT server=pyftpdlib skipped=not-installed"; continue; } ;;
    esac
    if start_server "$s"; then
        echo "# $s on 127.0.0.1:$port (pid $pid)"
    else
        echo "RESULT server=$s skipped=did-not-start"
    fi
done
transfer retr_1g retr 1 $((4 * RUNS + 3)) -f big
transfer stor_1g stor 1 $((4 * RUNS + 3)) -s $((1 << 30))
transfer retr_100x10m retr 100 "$RUNS" -f f10m
transfer retr_500x10m retr 500 "$RUNS" -f f10m
transfer stor_100x10m stor 100 "$RUNS" -s $((10 << 20))
transfer stor_500x10m stor 500 "$RUNS" -s $((10 << 20))
sessions
connects
for s in $live; do
    use "$s"
    idle_memory
done
if wanted retr_100x10m_squeezed && [ "$last_cpu" -ge 1 ] &&
    command -v taskset >/dev/null 2>&1; then
    others=$live live=
    for s in corio-ftpd-sq corio-ftpd-1c; do
        start_server "$s" || echo "RESULT server=$s skipped=did-not-start"
    done
    transfer retr_100x10m_squeezed retr 100 "$RUNS" -f f10m
    live="$others $live"
fi
