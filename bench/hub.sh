#!/bin/sh
# The hub benchmark, every peer in the same run:
#  - echo_server (a task per connection) against the hand-written epoll
#    server (bench_epoll_echo), libuv (bench_uv_echo, when built with
#    libuv) and Go's goroutine per connection (bench/go_echo, built here
#    when `go` is installed) with GOMAXPROCS=1 on the server CPU like the
#    others (go_echo_1cpu) and with one per CPU on every CPU
#    (go_echo_Ncpu); where io_uring runs, also echo_server -b uring
#    (completion mode) and the hand-written liburing server
#    (bench_uring_echo), at 100, 1000 and 10000 connections: round trips per second and
#    server CPU time per round trip (utime+stime delta of /proc/PID/stat),
#    the median of RUNS interleaved runs of bench_loadgen for SECS seconds;
#    and server memory per connection: the servers start afresh for each
#    connection count, and the first run's VmRSS in its middle minus VmRSS
#    just before it, divided by the connections;
#  - spawn+join and queue ping-pong next to their thread-based baselines.
#
#   sh bench/hub.sh              (after make; CIO_BIN defaults to build/bin)
#   SECS=3 RUNS=5 SIZE=64 CONNS="100 1000 10000" PIN=1 CALLGRIND=0 sh bench/hub.sh
#
# BASE_BIN=DIR adds echo_server from another build (its bin directory) as
# base and base_c (epoll, own and copied stacks); base_uring (-b uring)
# when named in SERVERS. To compare a change within one run, e.g.
#   SERVERS="epoll hub hubc base base_c" BASE_BIN=../old/build/bin sh bench/hub.sh
#
# PIN=1 (the default where taskset and 2 CPUs are there) runs every server
# on the second CPU and the load generator on the first: each server then
# has a core to itself, as it would in production, and the comparison is
# not blurred by how the scheduler happens to share two cores between the
# server and the load generator. PIN=0 lets them float.
#
# Prints RESULT lines:
#   RESULT bench=hub_echo server=NAME conns=N size=S rtt_per_s=N
#          cpu_us_per_rtt=X user_us_per_rtt=X rss_bytes_per_conn=N errors=N
#          cpu_vs_epoll=R cpu_vs_uring=R cpu_vs_epoll_paired=R
# (cpu_vs_uring: against bench_uring_echo, when it runs; else 0.
# cpu_vs_epoll is the ratio of the medians; cpu_vs_epoll_paired the median
# of each round's ratio to the epoll server's run of the same round, which
# drift over the rounds does not move.)
# (user_us_per_rtt is the part spent outside the kernel: the server's own
# code, where the servers differ; the kernel's share is the same syscalls.)
# With CALLGRIND=1, also the instructions behind that user time, at each
# of CALLGRIND_CONNS connections (100 unless given):
#   RESULT bench=hub_user_instructions server=NAME conns=C size=S
#          user_instr_per_rtt=N
set -u
bin=${CIO_BIN:-$PWD/build/bin}
secs=${SECS:-3}
runs=${RUNS:-5}
size=${SIZE:-64}
conns_list=${CONNS:-100 1000 10000}
hz=$(getconf CLK_TCK)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
. "$(dirname "$0")/lib/common.sh"
bench_init
pin=${PIN:-1}
if [ "$pin" = 1 ] && command -v taskset >/dev/null &&
    taskset -c 1 true 2>/dev/null; then
    on_server="taskset -c 1" on_loadgen="taskset -c 0"
else
    pin=0 on_server="" on_loadgen=""
fi

"$bin/bench_spawn"
"$bin/bench_queue"

servers="epoll hub hubc"
bench_runs_here "$bin/bench_uv_echo" && servers="$servers libuv"
bench_runs_here "$bin/bench_uring_echo" && servers="$servers uring hub_uring"
ncpu=$(nproc)
if command -v go >/dev/null 2>&1 &&
    (cd "$(dirname "$0")/go_echo" && GO111MODULE=off go build -o "$tmp/go_echo" \
        main.go) >"$tmp/go.err" 2>&1; then
    servers="$servers go1 goN"
elif command -v go >/dev/null 2>&1; then
    cat "$tmp/go.err"
    echo "FAIL: bench/go_echo did not build"
    exit 1
else
    echo "SKIP: go_echo (no go compiler; Debian golang-go)"
fi
[ -n "${BASE_BIN:-}" ] && servers="$servers base base_c"
# A subset, e.g. "epoll uring hub_uring"; also, not by default: uring_sqpoll,
# hub_uring_own (echo_server -b uring -s own: a stack per connection),
# hub_uring_recv (CIO_URING_STREAM=recv: streaming reads, replies sent at
# once) and hub_uring_oneshot (CIO_URING_STREAM=0: a one-shot recv per read).
[ -n "${SERVERS:-}" ] && servers=$SERVERS

start() { # label
    case $1 in
    epoll) bench_start "$1" $on_server "$bin/bench_epoll_echo" -p 0 ;;
    hub) bench_start "$1" $on_server "$bin/echo_server" -p 0 -b epoll -s own ;;
    hubc) bench_start "$1" $on_server "$bin/echo_server" -p 0 -b epoll -s copied ;;
    base) bench_start "$1" $on_server "$BASE_BIN/echo_server" -p 0 -b epoll -s own ;;
    base_c) bench_start "$1" $on_server "$BASE_BIN/echo_server" -p 0 -b epoll -s copied ;;
    base_uring) bench_start "$1" $on_server "$BASE_BIN/echo_server" -p 0 -b uring ;;
    libuv) bench_start "$1" $on_server "$bin/bench_uv_echo" -p 0 ;;
    uring) bench_start "$1" $on_server "$bin/bench_uring_echo" -p 0 ;;
    uring_sqpoll) bench_start "$1" $on_server "$bin/bench_uring_echo" -p 0 -s ;;
    hub_uring) bench_start "$1" $on_server "$bin/echo_server" -p 0 -b uring ;;
    hub_uring_own) bench_start "$1" $on_server "$bin/echo_server" -p 0 -b uring -s own ;;
    hub_uring_recv) bench_start "$1" env CIO_URING_STREAM=recv $on_server "$bin/echo_server" -p 0 -b uring ;;
    hub_uring_oneshot) bench_start "$1" env CIO_URING_STREAM=0 $on_server "$bin/echo_server" -p 0 -b uring ;;
    go1) bench_start "$1" env GOMAXPROCS=1 $on_server "$tmp/go_echo" -p 0 ;;
    goN) bench_start "$1" env GOMAXPROCS="$ncpu" "$tmp/go_echo" -p 0 ;;
    esac
}

name_of() { # label: the server's name in RESULT lines
    case $1 in
    epoll) echo epoll_echo ;; hub) echo echo_server ;; libuv) echo uv_echo ;;
    hubc) echo echo_server_copied ;;
    base) echo echo_server_base ;; base_c) echo echo_server_copied_base ;;
    base_uring) echo echo_server_uring_base ;;
    uring) echo uring_echo ;; uring_sqpoll) echo uring_echo_sqpoll ;;
    hub_uring) echo echo_server_uring ;;
    hub_uring_own) echo echo_server_uring_own ;;
    hub_uring_recv) echo echo_server_uring_recv ;;
    hub_uring_oneshot) echo echo_server_uring_oneshot ;;
    go1) echo go_echo_1cpu ;; goN) echo "go_echo_${ncpu}cpu" ;;
    esac
}

echo "# loadgen: $secs s per run, $runs runs, $size-byte messages;" \
    "servers: $servers; pinned: $pin"
status=0
for conns in $conns_list; do
    for s in $servers; do start "$s"; done
    for run in $(seq "$runs"); do
        # Each round starts one server further along: none always follows
        # the same one (and the sockets that one's run leaves behind).
        for s in $(rotate $((run - 1)) $servers); do
            pid=$(cat "$tmp/$s.pid")
            port=$(cat "$tmp/$s.port")
            rss0=$(rss_kib "$pid")
            before=$(cpu_ticks "$pid")
            ubefore=$(user_ticks "$pid")
            $on_loadgen "$bin/bench_loadgen" -p "$port" -c "$conns" -s "$size" \
                -t "$secs" >"$tmp/line" 2>>"$tmp/loadgen.err" &
            lg=$!
            sleep "$(echo "$secs" | awk '{print $1 * 0.6}')"
            rss1=$(rss_kib "$pid")
            wait "$lg"
            after=$(cpu_ticks "$pid")
            uafter=$(user_ticks "$pid")
            mem=$(( (rss1 - rss0) * 1024 / conns ))
            [ "$run" = 1 ] || mem=-
            awk -v s="$(name_of "$s")" -v c="$conns" -v d=$((after - before)) -v hz="$hz" \
                -v u=$((uafter - ubefore)) -v mem="$mem" -v run="$run" "$bench_awk"'{
                    result_fields(v)
                    n = v["rtts"] > 0 ? v["rtts"] : 1
                    printf "%s %s %s %.3f %s %s %.3f %s\n", s, c, v["rtt_per_s"],
                           d / hz * 1e6 / n, mem,
                           v["errors"] == "" ? 1 : v["errors"], u / hz * 1e6 / n, run
                }' "$tmp/line" >>"$tmp/samples"
        done
    done
    bench_stop $servers || status=1
done

sort -k2,2n -s "$tmp/samples" | awk -v size="$size" "$bench_awk"'
{
    k = $1 " " $2
    if (!(k in rtt)) order[++nk] = k
    rtt[k] = rtt[k] " " $3; cpu[k] = cpu[k] " " $4; usr[k] = usr[k] " " $7
    if ($5 != "-") mem[k] = $5
    err[k] += $6
    at[k, $8] = $4
    if ($1 == "epoll_echo") base_at[$2, $8] = $4
}
END {
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, sc, " ")
        m_cpu[k] = median(cpu[k])
        if (sc[1] == "epoll_echo") base[sc[2]] = m_cpu[k]
        if (sc[1] == "uring_echo") ubase[sc[2]] = m_cpu[k]
    }
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, sc, " ")
        name = sc[1]
        paired = ""
        for (r = 1; (k, r) in at; r++)
            if (base_at[sc[2], r] > 0)
                paired = paired " " at[k, r] / base_at[sc[2], r]
        printf "RESULT bench=hub_echo server=%s conns=%s size=%s " \
               "rtt_per_s=%s cpu_us_per_rtt=%.2f user_us_per_rtt=%.2f " \
               "rss_bytes_per_conn=%s errors=%d cpu_vs_epoll=%.3f " \
               "cpu_vs_uring=%.3f cpu_vs_epoll_paired=%.3f\n", name,
               sc[2], size, median(rtt[k]), m_cpu[k], median(usr[k]), mem[k],
               err[k],
               (base[sc[2]] > 0 ? m_cpu[k] / base[sc[2]] : 0),
               (ubase[sc[2]] > 0 ? m_cpu[k] / ubase[sc[2]] : 0),
               (paired != "" ? median(paired) : 0)
    }
}'

# CALLGRIND=1: user-space instructions per round trip at CALLGRIND_CONNS
# connections (bench_instr_per_rtt in lib/common.sh), unpinned.
if [ "${CALLGRIND:-0}" = 1 ] && command -v valgrind >/dev/null 2>&1; then
    for icons in ${CALLGRIND_CONNS:-100}; do
        # Not Go: valgrind does not support its runtime; not bench_uring_echo,
        # which never comes up under valgrind 3.19.
        for s in $servers; do
            case $s in
            epoll) name=epoll_echo n=$(bench_instr_per_rtt "$bin/bench_epoll_echo") ;;
            hub) name=echo_server n=$(bench_instr_per_rtt "$bin/echo_server" -b epoll -s own) ;;
            hubc) name=echo_server_copied n=$(bench_instr_per_rtt "$bin/echo_server" -b epoll -s copied) ;;
            base) name=echo_server_base n=$(bench_instr_per_rtt "$BASE_BIN/echo_server" -b epoll -s own) ;;
            base_c) name=echo_server_copied_base n=$(bench_instr_per_rtt "$BASE_BIN/echo_server" -b epoll -s copied) ;;
            libuv) name=uv_echo n=$(bench_instr_per_rtt "$bin/bench_uv_echo") ;;
            hub_uring) name=echo_server_uring n=$(bench_instr_per_rtt "$bin/echo_server" -b uring) ;;
            hub_uring_own) name=echo_server_uring_own n=$(bench_instr_per_rtt "$bin/echo_server" -b uring -s own) ;;
            *) continue ;;
            esac
            echo "RESULT bench=hub_user_instructions server=$name conns=$icons" \
                "size=$size user_instr_per_rtt=$n"
        done
    done
fi
exit $status
