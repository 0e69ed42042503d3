#!/bin/sh
# Draws SVG charts from the RESULT lines of a benchmark log (the output of
# bench/run.sh, which `make bench` runs) with gnuplot:
#   switch.svg     one-way switch and create+run+free: corio (FPU control
#                  words per coroutine and shared), Boost.Context fcontext,
#                  the bare assembly floor, ucontext (bench/switch.sh)
#   echo_cpu.svg   echo server CPU per round trip against connections,
#                  a line per server (bench/hub.sh)
#   echo_mem.svg   echo server memory per connection, the same way
#   ftp_mbps.svg   FTP throughput per test line, a bar per server
#   ftp_cpu.svg    FTP server CPU seconds per GiB, the same way
#   ftps_mbps.svg  the same for the FTPS servers (names ending in -tls)
#   ftps_cpu.svg   and their CPU seconds per GiB
# Each chart names the command that made it and the machine it ran on.
# A chart whose results are missing from the log is skipped.
#
#   sh bench/lib/charts.sh LOG OUTDIR [COMMAND]
set -u
log=$1
out=$2
# No backquotes or double quotes in the caption: gnuplot runs what is in
# backquotes inside its strings.
cmd=$(printf '%s' "${3:-make bench}" | tr -d '`"')
if ! command -v gnuplot >/dev/null 2>&1; then
    echo "SKIP: charts (no gnuplot; Debian gnuplot-nox)"
    exit 0
fi
mkdir -p "$out"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
machine="${cpu:-$(uname -m)}, $(nproc) CPUs, $(uname -sr), $(date -u +%Y-%m-%d)"
caption="made by '$cmd' on $machine"

# plot NAME: runs gnuplot on $tmp/NAME.gp with the common settings, to
# $out/NAME.svg.
plot() {
    {
        echo "set terminal svg size 960,540 dynamic font 'sans,13' background rgb 'white'"
        echo "set output '$out/$1.svg'"
        echo "set termoption noenhanced" # test_name, TLS_AES_...: no subscripts
        echo "set label 1 \"$caption\" at screen 0.01, screen 0.015 font 'sans,10'"
        echo "set bmargin 5"
        echo "set grid ytics lc rgb '#dddddd'"
        echo "set key outside right top"
        echo "set datafile missing '-'"
        cat "$tmp/$1.gp"
    } | timeout 60 gnuplot && echo "chart: $out/$1.svg"
}

# field KEY: awk code giving the value of KEY=VALUE in the current line.
fields='function f(k,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) return kv[2] }
    return "-"
}'

# ---- coroutines ----
awk "$fields"'
/^RESULT switch_ns=/ {
    print "\"corio\"", f("switch_ns"), f("create_ns")
    print "\"corio, shared FPU words\"", f("switch_shared_fpu_ns"), f("create_shared_fpu_ns")
    print "\"Boost fcontext\"", f("fcontext_switch_ns"), f("fcontext_create_ns")
    print "\"bare floor\"", f("floor_switch_ns"), "-"
    print "\"ucontext\"", f("ucontext_switch_ns"), "-"
    exit
}' "$log" >"$tmp/switch.dat"
if [ -s "$tmp/switch.dat" ]; then
    cat >"$tmp/switch.gp" <<EOF
set title "Context switch and create+run+free (bench/switch.sh; lower is better)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel "ns (log scale)"
set yrange [0.5:*]
set xtics nomirror
plot '$tmp/switch.dat' using 2:xtic(1) title "one-way switch", \
     '' using 3 title "create+run+free", \
     '' using 0:(\$2):(sprintf("%.1f", \$2)) with labels offset -2.2,0.8 font 'sans,10' notitle, \
     '' using 0:(\$3):(sprintf("%.1f", \$3)) with labels offset 2.2,0.8 font 'sans,10' notitle
EOF
    plot switch
fi

# ---- echo servers: one data block per server, x = connections ----
echo_chart() { # NAME KEY YLABEL TITLE LOG
    awk "$fields"'
    /^RESULT bench=hub_echo / { s = f("server"); if (!(s in seen)) { seen[s] = 1; order[++n] = s }
        v[s] = v[s] f("conns") " " f(key) "\n" }
    END { for (i = 1; i <= n; i++) printf "\"%s\"\n%s\n\n", order[i], v[order[i]] }
    ' key="$2" "$log" >"$tmp/$1.dat"
    [ -s "$tmp/$1.dat" ] || return 0
    servers=$(grep -c '^"' "$tmp/$1.dat")
    cat >"$tmp/$1.gp" <<EOF
set title "$4"
set logscale x
$5
set xlabel "connections"
set ylabel "$3"
set xtics (100, 1000, 10000)
set key autotitle columnheader
plot for [i=0:$((servers - 1))] '$tmp/$1.dat' index i using 1:2 with linespoints lw 2 pt 7 title columnheader(1)
EOF
    plot "$1"
}
echo_chart echo_cpu cpu_us_per_rtt "server CPU per round trip (us)" \
    "Echo server CPU per round trip, 64-byte messages (bench/hub.sh; lower is better)" \
    "set yrange [0:*]"
echo_chart echo_mem rss_bytes_per_conn "server memory per connection (bytes, log scale)" \
    "Echo server memory per connection under load (bench/hub.sh; lower is better)" \
    "set logscale y"

# ---- FTP: tests as groups, servers as bars ----
ftp_chart() { # NAME KEY YLABEL TITLE TLS (1: the -tls servers, 0: the others)
    awk "$fields"'
    /^RESULT server=/ && / test=/ && f(key) != "-" &&
        (f("server") ~ /-tls$/) == (tls == 1) {
        s = f("server"); t = f("test")
        if (!(s in ss)) { ss[s] = 1; so[++ns] = s }
        if (!(t in tt)) { tt[t] = 1; to[++nt] = t }
        v[t, s] = f(key)
    }
    END {
        if (!nt) exit
        printf "test"; for (j = 1; j <= ns; j++) printf " \"%s\"", so[j]; printf "\n"
        for (i = 1; i <= nt; i++) {
            printf "%s", to[i]
            for (j = 1; j <= ns; j++) printf " %s", ((to[i], so[j]) in v) ? v[to[i], so[j]] : "-"
            printf "\n"
        }
    }' key="$2" tls="$5" "$log" >"$tmp/$1.dat"
    [ -s "$tmp/$1.dat" ] || return 0
    cols=$(head -n 1 "$tmp/$1.dat" | awk '{ print NF }')
    cat >"$tmp/$1.gp" <<EOF
set title "$4"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set ylabel "$3"
set yrange [0:*]
set xtics rotate by -20 nomirror
set key autotitle columnheader
plot for [i=2:$cols] '$tmp/$1.dat' using i:xtic(1)
EOF
    plot "$1"
}
ftp_chart ftp_mbps mbps "MB/s (higher is better)" \
    "FTP transfers on loopback, tmpfs (bench/ftpd.sh)" 0
ftp_chart ftp_cpu cpu_s_per_gib "server CPU s per GiB (lower is better)" \
    "FTP server CPU per GiB moved (bench/ftpd.sh)" 0
# The FTPS lines say which TLS version and cipher every server used.
suite=$(sed -n 's/^RESULT server=.*-tls .* tls=\([^ ]*\).*/\1/p' "$log" |
    sort -u | tr '/' ' ' | paste -sd, - | tr -d '`"')
ftp_chart ftps_mbps mbps "MB/s (higher is better)" \
    "FTPS transfers, ${suite:-TLS}, loopback, tmpfs (bench/ftpd.sh)" 1
ftp_chart ftps_cpu cpu_s_per_gib "server CPU s per GiB (lower is better)" \
    "FTPS server CPU per GiB moved, ${suite:-TLS} (bench/ftpd.sh)" 1
exit 0
