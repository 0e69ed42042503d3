#!/bin/sh
# The fault-and-soak run: corio-ftpd built with ASan+UBSan, SOAK_SECONDS
# (default 120) of mixed load and faults on loopback (bench/soak.py says
# what), then one RESULT line. Exits non-zero when a corrupted transfer, a
# partial file under a final name or a sanitizer report was seen, when
# the server's RSS or open fds grew by more than 10% after warm-up, or
# when nothing was transferred.
#
#   SOAK_SECONDS=1800 sh bench/soak.sh
#
# The 4 MiB tmpfs needs mount(2) (root); without it that part is skipped
# and the RESULT line says tmpfs_full=skipped. SOAK_KEEP=1 keeps the
# work directory (server stderr, event log) of a failed run.
set -u
secs=${SOAK_SECONDS:-120}
san=${SOAK_BUILD:-build-san}
build=${BUILD:-build}
for tool in curl lftp python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
echo "soak: building $san/bin/corio-ftpd (ASan+UBSan) and $build/bin/bench_ftpload"
make -s SAN=1 BUILD="$san" -j2 "$san/bin/corio-ftpd" >/dev/null &&
    make -s BUILD="$build" -j2 "$build/bin/bench_ftpload" >/dev/null || {
    echo "soak: build failed"
    exit 1
}
work=$(mktemp -d /tmp/corio-soak.XXXXXX)
mkdir -p "$work/root/small"
tmpfs=0 why=""
if mount -t tmpfs -o size=4m,mode=0755 corio-soak "$work/root/small" 2>"$work/mount.err"; then
    tmpfs=1
else
    why=$(head -n 1 "$work/mount.err" | tr ' ' '_')
    echo "soak: no 4 MiB tmpfs (mount failed: $(cat "$work/mount.err")); that part is skipped"
fi
status=1
cleanup() {
    [ "$tmpfs" = 1 ] && umount "$work/root/small" 2>/dev/null
    if [ "$status" = 0 ] || [ -z "${SOAK_KEEP:-}" ]; then
        rm -rf "$work"
    else
        echo "soak: kept $work (server.stderr, events.log)"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
python3 bench/soak.py --ftpd "$PWD/$san/bin/corio-ftpd" \
    --ftpload "$PWD/$build/bin/bench_ftpload" --work "$work" \
    --seconds "$secs" --tmpfs "$tmpfs" --tmpfs-why "${why:-none}"
status=$?
exit $status
