#!/bin/sh
# corio-ftpd's files call one way, from the top layer down (docs/ftpd.md,
# Source map): each object's undefined symbols, matched against what the
# other objects define, may name only files of its own layer or below.
# ftps.c spans the layers and is left out; a new file must join a layer.
set -u
BUILD=${BUILD:-build}
obj=$BUILD/obj/apps/corio-ftpd
command -v nm >/dev/null || { echo "SKIP: nm not installed (binutils)"; exit 77; }
[ -e "$obj/session.o" ] || { echo "FAIL: $obj is missing (make first)"; exit 1; }
layers="main
session
commands commands_auth commands_fs commands_xfer
transfer transfer_task transfer_open data hashpool dirlist
server defender partial
control reply log vfs vfs_walk auth listing hash xferlog config"
exempt=ftps
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

level_of() { # file -> its layer's number, or nothing
    echo "$layers" | awk -v f="$1" '{ for (i = 1; i <= NF; i++) if ($i == f) print NR }'
}

for o in "$obj"/*.o; do
    nm --defined-only -g "$o" |
        awk -v f="$(basename "$o" .o)" 'NF == 3 {print $3, f}'
done | sort >"$tmp/defs"
fail=0 edges=0
for o in "$obj"/*.o; do
    from=$(basename "$o" .o)
    [ "$from" = "$exempt" ] && continue
    lf=$(level_of "$from")
    if [ -z "$lf" ]; then
        echo "FAIL: $from.c is in no layer of this test"
        fail=1
        continue
    fi
    nm -u "$o" | awk '{print $NF}' | sort -u | join - "$tmp/defs" >"$tmp/uses"
    while read -r sym to; do
        [ "$to" = "$from" ] || [ "$to" = "$exempt" ] && continue
        edges=$((edges + 1))
        lt=$(level_of "$to")
        if [ -n "$lt" ] && [ "$lt" -lt "$lf" ]; then
            echo "FAIL: $from.c calls up into $to.c ($sym)"
            fail=1
        fi
    done <"$tmp/uses"
done
# The check must have seen the calls it rules on.
[ "$edges" -gt 50 ] || { echo "FAIL: only $edges calls between files found"; exit 1; }
[ "$fail" = 0 ] && echo "ok: $edges calls between files, none upward"
exit "$fail"
