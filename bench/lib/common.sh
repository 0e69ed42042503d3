# Shell functions shared by the benchmark scripts (POSIX sh). Source it with
#   . "$(dirname "$0")/lib/common.sh"
# then call bench_init; the functions keep their files in $tmp.

# bench_init: makes the private directory $tmp; on exit (or INT, TERM) the
# servers in $pids are killed and $tmp removed (KEEP=DIR copies it first).
bench_init() {
    tmp=$(mktemp -d) || exit 1
    pids=""
    trap bench_cleanup EXIT INT TERM
}

# bench_cleanup: kills the servers in $pids and removes $tmp (see bench_init).
bench_cleanup() {
    for _p in $pids; do kill "$_p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"
    rm -rf "$tmp"
}

# bench_runs_here PROGRAM: true unless PROGRAM exits 77 at once, as a
# baseline built without its library (or kernel support) does.
bench_runs_here() {
    "$1" -p 0 >/dev/null 2>&1 </dev/null &
    _p=$!
    sleep 0.2
    kill "$_p" 2>/dev/null
    wait "$_p"
    [ $? -ne 77 ]
}

# bench_port FILE [TRIES]: waits up to TRIES tenths of a second (default 100)
# for a "listening on HOST:PORT" line in FILE and prints PORT; fails if none.
bench_port() {
    _n=0
    while [ "$_n" -lt "${2:-100}" ]; do
        _port=$(sed -n 's/^listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' \
            "$1" 2>/dev/null | head -n 1)
        [ -n "$_port" ] && { echo "$_port"; return 0; }
        sleep 0.1
        _n=$((_n + 1))
    done
    return 1
}

# bench_start NAME CMD...: runs CMD in the background (stdout to $tmp/NAME.out),
# adds it to $pids, writes $tmp/NAME.pid and $tmp/NAME.port; exits the script
# with "FAIL: NAME did not start" if it does not listen within 10 s.
bench_start() {
    _name=$1
    shift
    : >"$tmp/$_name.out" # no stale line from an earlier start
    "$@" >"$tmp/$_name.out" &
    pids="$pids $!"
    echo "$!" >"$tmp/$_name.pid"
    bench_port "$tmp/$_name.out" >"$tmp/$_name.port" ||
        { echo "FAIL: $_name did not start"; exit 1; }
}

# bench_stop NAME...: SIGTERM to each server bench_start started, then waits
# for it; prints a FAIL line and returns 1 if one did not exit with status 0.
bench_stop() {
    _st=0
    for _name in "$@"; do
        _pid=$(cat "$tmp/$_name.pid")
        kill -TERM "$_pid"
        wait "$_pid" ||
            { echo "FAIL: $_name exited with status $? on SIGTERM"; _st=1; }
    done
    pids=""
    return $_st
}

# cpu_ticks PID: utime+stime of PID in clock ticks (fields 14 and 15 of
# /proc/PID/stat; the name in field 2 has no spaces for our programs).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# user_ticks PID: utime of PID in clock ticks (field 14 of /proc/PID/stat).
user_ticks() { awk '{ print $14 }' "/proc/$1/stat"; }

# rotate K WORDS...: the words, starting at the (K mod count)-th one.
rotate() {
    _k=$(($1 % ($# - 1)))
    shift
    _i=0 _head="" _tail=""
    for _w in "$@"; do
        if [ "$_i" -lt "$_k" ]; then _head="$_head $_w"; else _tail="$_tail $_w"; fi
        _i=$((_i + 1))
    done
    echo $_tail $_head
}

# rss_kib PID: the resident set size of PID in KiB (VmRSS).
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# bench_field LINE KEY: the value of KEY=VALUE in a RESULT line.
bench_field() { echo "$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p"; }

# bench_median VALUE...: the median (the lower middle one for an even count).
bench_median() { echo "$*" | awk "$bench_awk"'{ print median($0) }'; }

# Awk functions to put in front of an awk program: awk "$bench_awk"'...'.
# median(list): the median of the space-separated numbers in list (the
#   lower middle one for an even count).
# result_fields(v): v[KEY] = VALUE for each KEY=VALUE after the first field
#   of the current line (a bench_loadgen RESULT line).
bench_awk='
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) {
        t = a[j]; a[j] = a[j-1]; a[j-1] = t }
    return a[int((n + 1) / 2)]
}
function result_fields(v,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
}
'

# bench_instr_per_rtt CMD...: user-space instructions per round trip of the
# server CMD (given -p 0), which a busy machine does not blur: it runs
# under callgrind for 5,000 and for 25,000 round trips of bench_loadgen at
# ${icons:-100} connections of $size bytes, and the difference over 20,000
# removes start-up and shutdown. Kernel work (the syscalls) is not counted.
bench_instr_per_rtt() {
    _small=$(bench_callgrind_ir 5000 "$@")
    _large=$(bench_callgrind_ir 25000 "$@")
    echo $(((_large - _small) / 20000))
}

bench_callgrind_ir() { # COUNT CMD...: instructions for COUNT round trips
    _count=$1
    shift
    rm -f "$tmp/cg.out" "$tmp/cg.port"
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" -p 0 \
        >"$tmp/cg.port" 2>/dev/null &
    _pid=$!
    pids=$_pid
    _port=$(bench_port "$tmp/cg.port" 200)
    "$bin/bench_loadgen" -p "$_port" -c "${icons:-100}" -s "$size" \
        -n "$_count" >/dev/null
    kill -TERM "$_pid"
    wait "$_pid"
    pids=""
    awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.out"
}
