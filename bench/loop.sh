#!/bin/sh
# The loop benchmark: selectors_echo on each backend against the hand-
# written epoll baseline (bench_epoll_echo), in the same run, at 1, 100 and
# 1000 connections. Each point is the median of RUNS interleaved runs of
# bench_loadgen for SECS seconds. Server CPU time per round trip comes from
# the utime+stime delta of /proc/PID/stat around each run. PIN=1 (the
# default where taskset and 2 CPUs are there, as in bench/hub.sh) runs
# every server on the second CPU and the load generator on the first, so
# that each server has a core to itself and the comparison is not blurred
# by how the scheduler shares two cores; PIN=0 lets them float (the
# 1-connection case, where every round trip is a cross-CPU wake-up, is
# slower pinned).
#
#   sh bench/loop.sh            (after make; CIO_BIN defaults to build/bin)
#   SECS=3 RUNS=3 SIZE=64 CONNS="1 100 1000" PIN=1 CALLGRIND=0 sh bench/loop.sh
#
# Prints one line per point:
#   RESULT bench=loop server=NAME conns=N size=S rtt_per_s=N cpu_us_per_rtt=X
#          p50_us=N p99_us=N errors=N cpu_vs_baseline=R
set -u
bin=${CIO_BIN:-$PWD/build/bin}
secs=${SECS:-3}
runs=${RUNS:-3}
size=${SIZE:-64}
conns_list=${CONNS:-1 100 1000}
hz=$(getconf CLK_TCK)
ulimit -n 4096 2>/dev/null || true
. "$(dirname "$0")/lib/common.sh"
bench_init

pin_server= pin_load=
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null 2>&1 &&
    [ "$(nproc)" -ge 2 ]; then
    pin_server="taskset -c 1"
    pin_load="taskset -c 0"
fi

servers="baseline epoll poll select"
start() { # label
    case $1 in
    baseline) bench_start "$1" $pin_server "$bin/bench_epoll_echo" -p 0 ;;
    *) bench_start "$1" $pin_server "$bin/selectors_echo" -p 0 -b "$1" ;;
    esac
}

for s in $servers; do start "$s"; done
echo "# loadgen: $secs s per run, $runs runs, $size-byte messages," \
    "pinning: ${pin_server:-none}"

for conns in $conns_list; do
    for run in $(seq "$runs"); do
        for s in $servers; do
            pid=$(cat "$tmp/$s.pid")
            port=$(cat "$tmp/$s.port")
            before=$(cpu_ticks "$pid")
            line=$($pin_load "$bin/bench_loadgen" -p "$port" -c "$conns" \
                -s "$size" -t "$secs" 2>>"$tmp/loadgen.err")
            after=$(cpu_ticks "$pid")
            echo "$line" | awk -v s="$s" -v c="$conns" -v d=$((after - before)) \
                -v hz="$hz" "$bench_awk"'{
                    result_fields(v)
                    cpu = v["rtts"] > 0 ? d / hz * 1e6 / v["rtts"] : 0
                    printf "%s %s %s %.3f %s %s %s\n", s, c, v["rtt_per_s"], cpu,
                           v["p50_us"], v["p99_us"], v["errors"]
                }' >>"$tmp/samples"
        done
    done
done

# Medians per (server, conns), then the ratio to the baseline's CPU/rtt.
sort -k2,2n -s "$tmp/samples" | awk -v size="$size" "$bench_awk"'
{
    k = $1 " " $2
    if (!(k in rtt)) order[++nk] = k
    rtt[k] = rtt[k] " " $3; cpu[k] = cpu[k] " " $4
    p50[k] = p50[k] " " $5; p99[k] = p99[k] " " $6; err[k] += $7
}
END {
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, sc, " ")
        m_cpu[k] = median(cpu[k])
        if (sc[1] == "baseline") base[sc[2]] = m_cpu[k]
    }
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, sc, " ")
        name = sc[1] == "baseline" ? "epoll_echo" : "selectors_echo/" sc[1]
        ratio = base[sc[2]] > 0 ? m_cpu[k] / base[sc[2]] : 0
        printf "RESULT bench=loop server=%s conns=%s size=%s rtt_per_s=%s " \
               "cpu_us_per_rtt=%.2f p50_us=%s p99_us=%s errors=%d " \
               "cpu_vs_baseline=%.2f\n", name, sc[2], size, median(rtt[k]),
               m_cpu[k], median(p50[k]), median(p99[k]), err[k], ratio
    }
}'

bench_stop $servers

# CALLGRIND=1: user-space instructions per round trip at 100 connections
# (bench_instr_per_rtt in lib/common.sh).
[ "${CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1 || exit 0
for s in $servers; do
    case $s in
    baseline) n=$(bench_instr_per_rtt "$bin/bench_epoll_echo") ;;
    *) n=$(bench_instr_per_rtt "$bin/selectors_echo" -b "$s") ;;
    esac
    name=$s
    [ "$s" = baseline ] && name=epoll_echo || name=selectors_echo/$s
    echo "RESULT bench=loop_user_instructions server=$name conns=100" \
        "size=$size user_instr_per_rtt=$n"
done
