#!/bin/sh
# What TLS costs corio's echo server, every server in the same run:
#   plain     echo_server (a task per connection, plain TCP)
#   tls       echo_server --tls (libcorio_tls)
#   openssl   bench_tls_echo: a hand-written OpenSSL server on epoll
#   epoll     bench_epoll_echo: the hand-written plain server
# For each, bench_loadgen (-T for the TLS ones, TLS 1.3, P-256 certificate)
# runs CONNS connections of SIZE-byte round trips for SECS seconds, RUNS
# interleaved runs; the server's CPU time per round trip is the
# utime+stime delta of /proc/PID/stat over the run. Medians are reported.
#
#   sh bench/tls.sh      (after make; CIO_BIN defaults to build/bin)
#   SECS=3 RUNS=5 CONNS=100 SIZES="64 16384" PIN=1 sh bench/tls.sh
#
# RESULT bench=tls_echo server=NAME conns=N size=S rtt_per_s=N
#        cpu_us_per_rtt=X errors=N
# RESULT bench=tls_overhead size=S tls_vs_plain=R tls_vs_openssl=R
#   tls_vs_plain:   echo_server's CPU per round trip with TLS / without
#   tls_vs_openssl: echo_server --tls / the hand-written OpenSSL server
set -u
bin=${CIO_BIN:-$PWD/build/bin}
secs=${SECS:-3}
runs=${RUNS:-5}
conns=${CONNS:-100}
sizes=${SIZES:-64 16384}
hz=$(getconf CLK_TCK)
. "$(dirname "$0")/lib/common.sh"
bench_init

if ! command -v openssl >/dev/null || [ ! -x "$bin/bench_tls_echo" ]; then
    echo "SKIP: needs the openssl command and a build with OpenSSL"
    exit 0
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -days 2 -subj /CN=localhost -keyout "$tmp/key.pem" \
    -out "$tmp/cert.pem" 2>/dev/null || exit 1

pin=${PIN:-1}
if [ "$pin" = 1 ] && command -v taskset >/dev/null &&
    taskset -c 1 true 2>/dev/null; then
    on_server="taskset -c 1" on_loadgen="taskset -c 0"
else
    pin=0 on_server="" on_loadgen=""
fi

servers="epoll plain tls openssl"
bench_start epoll $on_server "$bin/bench_epoll_echo" -p 0
bench_start plain $on_server "$bin/echo_server" -p 0 -b epoll
bench_start tls $on_server "$bin/echo_server" -p 0 -b epoll \
    --tls "$tmp/cert.pem" "$tmp/key.pem"
bench_start openssl $on_server "$bin/bench_tls_echo" -p 0 \
    "$tmp/cert.pem" "$tmp/key.pem"

echo "# $conns connections, $secs s per run, $runs runs, sizes: $sizes;" \
    "pinned: $pin; TLS 1.3, $(openssl version | cut -d' ' -f1-2)"
status=0
for size in $sizes; do
    for run in $(seq "$runs"); do
        for s in $servers; do
            pid=$(cat "$tmp/$s.pid")
            port=$(cat "$tmp/$s.port")
            case $s in tls|openssl) t="-T -V 1.3" ;; *) t="" ;; esac
            before=$(cpu_ticks "$pid")
            $on_loadgen "$bin/bench_loadgen" -p "$port" -c "$conns" \
                -s "$size" -t "$secs" $t >"$tmp/line" 2>>"$tmp/loadgen.err"
            after=$(cpu_ticks "$pid")
            awk -v s="$s" -v z="$size" -v d=$((after - before)) -v hz="$hz" \
                "$bench_awk"'{
                    result_fields(v)
                    n = v["rtts"] > 0 ? v["rtts"] : 1
                    printf "%s %s %s %.3f %s\n", s, z, v["rtt_per_s"],
                           d / hz * 1e6 / n, v["errors"] == "" ? 1 : v["errors"]
                }' "$tmp/line" >>"$tmp/samples"
        done
    done
done
bench_stop $servers || status=1

awk -v conns="$conns" "$bench_awk"'
{
    k = $1 " " $2
    if (!(k in rtt)) order[++nk] = k
    rtt[k] = rtt[k] " " $3; cpu[k] = cpu[k] " " $4; err[k] += $5
    if (!($2 in seen)) { seen[$2] = 1; zs[++nz] = $2 }
}
END {
    names["epoll"] = "epoll_echo"; names["plain"] = "echo_server"
    names["tls"] = "echo_server_tls"; names["openssl"] = "openssl_epoll_echo"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, sz, " ")
        m[k] = median(cpu[k])
        printf "RESULT bench=tls_echo server=%s conns=%s size=%s " \
               "rtt_per_s=%s cpu_us_per_rtt=%.2f errors=%d\n", names[sz[1]],
               conns, sz[2], median(rtt[k]), m[k], err[k]
    }
    for (j = 1; j <= nz; j++) {
        z = zs[j]
        p = m["plain " z]; o = m["openssl " z]; t = m["tls " z]
        printf "RESULT bench=tls_overhead size=%s tls_vs_plain=%.3f " \
               "tls_vs_openssl=%.3f\n", z, (p > 0 ? t / p : 0), (o > 0 ? t / o : 0)
    }
}' "$tmp/samples"
exit $status
