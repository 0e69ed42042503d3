#!/bin/sh
# echo_server with 1 and 2 worker threads under the same load, in the same
# run: round trips per second (bench_loadgen) and the server's CPU time per
# round trip (utime + stime from /proc/PID/stat around the load). Runs
# alternate between the two so that noise hits both; each figure is the
# median of RUNS. Prints RESULT lines.
#
# Squeezed: with taskset and 2 CPUs or more, also "sq", a group of one
# worker per CPU squeezed onto the last CPU once it runs (taskset -a -p, as
# a container's CPU quota would do), against "1c", one worker started on
# that CPU: what the group pays for CPUs it lost. The group steers new
# connections to as many workers as it has CPUs (src/workers/group.c).
#
#   sh bench/workers.sh            (after make; CONNS, SIZE, SECS, RUNS,
#                                   WORKERS="1 2" override the defaults;
#                                   0 in WORKERS is the server without -w;
#                                   PIN=1 pins each worker to a CPU: -a;
#                                   NICE=0 runs the load generator at the
#                                   servers' priority)
#
# The load generator stands for clients on other machines, but here it
# shares the two cores with the server: with two worker threads, three
# busy threads would share two cores fairly and the load generator, left
# two thirds of a core, would set the pace. It runs at nice -15 (NICE,
# where the user may raise priorities) so that the server's threads take
# only the time it leaves; the server is measured by its CPU time per
# round trip either way.
set -u
BIN=${CIO_BIN:-$PWD/build/bin}
CONNS=${CONNS:-64}
SIZE=${SIZE:-64}
SECS=${SECS:-3}
RUNS=${RUNS:-5}
squeeze=""
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
    squeeze="sq 1c"
fi
WORKERS=${WORKERS:-"1 2 $squeeze"}
last_cpu=$(($(nproc) - 1))
PIN=${PIN:-0}
NICE=${NICE:--15}
pin_flag=""
[ "$PIN" = 1 ] && pin_flag=-a
server=$BIN/echo_server
loadgen=$BIN/bench_loadgen
for p in "$server" "$loadgen"; do
    [ -x "$p" ] || { echo "workers.sh: $p is missing (make first)" >&2; exit 1; }
done
. "$(dirname "$0")/lib/common.sh"
bench_init
hz=$(getconf CLK_TCK)
on_loadgen=""
if [ "$NICE" != 0 ] && [ "$(nice -n "$NICE" nice 2>/dev/null)" = "$NICE" ]; then
    on_loadgen="nice -n $NICE"
else
    NICE=0
fi

# One measurement: writes "rtt_per_s cpu_ns_per_rtt" to $tmp/last.
measure() { # workers
    # A fresh log each time: the redirection happens in the background
    # child, so an old log could otherwise still be read here.
    rm -f "$tmp/server.log"
    if [ "$1" = 0 ]; then # 0: the plain one-hub server, for reference
        "$server" -p 0 >"$tmp/server.log" 2>&1 &
    elif [ "$1" = sq ]; then # one worker per CPU, squeezed below
        "$server" -p 0 -w "$(nproc)" >"$tmp/server.log" 2>&1 &
    elif [ "$1" = 1c ]; then # one worker on the squeezed group's CPU
        taskset -c "$last_cpu" "$server" -p 0 -w 1 >"$tmp/server.log" 2>&1 &
    else
        "$server" -p 0 -w "$1" $pin_flag >"$tmp/server.log" 2>&1 &
    fi
    pid=$!
    pids=$pid
    if ! port=$(bench_port "$tmp/server.log"); then
        echo "workers.sh: echo_server -w $1 did not start" >&2
        cat "$tmp/server.log" >&2
        exit 1
    fi
    if [ "$1" = sq ]; then
        taskset -a -p -c "$last_cpu" "$pid" >/dev/null
        sleep 1.2 # the group notices within a second
    fi
    before=$(cpu_ticks "$pid")
    out=$($on_loadgen "$loadgen" -p "$port" -c "$CONNS" -s "$SIZE" -t "$SECS")
    rc=$?
    after=$(cpu_ticks "$pid")
    kill -TERM "$pid"
    wait "$pid"
    pids=""
    if [ $rc -ne 0 ]; then
        echo "workers.sh: the load generator failed: $out" >&2
        exit 1
    fi
    rtts=$(bench_field "$out" rtts)
    rate=$(bench_field "$out" rtt_per_s)
    awk -v r="$rate" -v n="$rtts" -v t=$((after - before)) -v hz="$hz" \
        'BEGIN { printf "%.0f %.0f\n", r, t * 1e9 / hz / n }' >"$tmp/last"
}

run=1
while [ $run -le "$RUNS" ]; do
    for w in $WORKERS; do
        measure "$w"
        set -- $(cat "$tmp/last")
        echo "run $run: -w $w $pin_flag: $1 round trips/s, $2 ns server CPU per round trip"
        echo "$1" >>"$tmp/rate.$w"
        echo "$2" >>"$tmp/cpu.$w"
    done
    run=$((run + 1))
done

for w in $WORKERS; do
    rate=$(bench_median $(cat "$tmp/rate.$w"))
    cpu=$(bench_median $(cat "$tmp/cpu.$w"))
    echo "RESULT bench=workers workers=$w conns=$CONNS size=$SIZE secs=$SECS rtt_per_s=$rate cpu_ns_per_rtt=$cpu runs=$RUNS pinned=$PIN loadgen_nice=$NICE"
done
case " $WORKERS " in
*" sq "*"1c "*)
    rs=$(bench_median $(cat "$tmp/rate.sq"))
    r1=$(bench_median $(cat "$tmp/rate.1c"))
    cs=$(bench_median $(cat "$tmp/cpu.sq"))
    c1=$(bench_median $(cat "$tmp/cpu.1c"))
    awk -v r1="$r1" -v rs="$rs" -v c1="$c1" -v cs="$cs" \
        'BEGIN { printf "RESULT bench=workers compare=squeezed/one_on_that_cpu throughput_ratio=%.2f cpu_per_rtt_ratio=%.2f\n", rs / r1, cs / c1 }'
    ;;
esac
set -- $WORKERS
if [ $# -ge 2 ]; then
    r1=$(bench_median $(cat "$tmp/rate.$1"))
    r2=$(bench_median $(cat "$tmp/rate.$2"))
    c1=$(bench_median $(cat "$tmp/cpu.$1"))
    c2=$(bench_median $(cat "$tmp/cpu.$2"))
    awk -v a="$1" -v b="$2" -v r1="$r1" -v r2="$r2" -v c1="$c1" -v c2="$c2" \
        'BEGIN { printf "RESULT bench=workers compare=w%s/w%s throughput_ratio=%.2f cpu_per_rtt_ratio=%.2f\n", b, a, r2 / r1, c2 / c1 }'
fi
