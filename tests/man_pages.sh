#!/bin/sh
# Every public function has a section 3 man page generated from its header
# comment (scripts/mkman.sh fails when one has no comment), and the pages
# render.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh scripts/mkman.sh "$tmp/man" >"$tmp/log" 2>&1 ||
    { echo "FAIL: mkman:"; cat "$tmp/log"; exit 1; }
missing=0
for name in $(sh scripts/api-functions.sh | awk '{print $1}'); do
    [ -s "$tmp/man/$name.3" ] || { echo "FAIL: no man page for $name"; missing=1; }
done
[ $missing -eq 0 ] || exit 1
n=$(ls "$tmp/man" | wc -l)
[ "$n" -eq "$(sh scripts/api-functions.sh | wc -l)" ] ||
    { echo "FAIL: $n pages for $(sh scripts/api-functions.sh | wc -l) functions"; exit 1; }
if command -v groff >/dev/null; then
    for p in "$tmp"/man/*.3; do
        out=$(groff -man -Tutf8 -ww "$p" 2>&1 >/dev/null)
        [ -z "$out" ] || { echo "FAIL: $p: $out"; exit 1; }
    done
    groff -man -Tutf8 "$tmp/man/cio_task_join.3" 2>/dev/null | grep -q ETIMEDOUT ||
        { echo "FAIL: cio_task_join(3) lacks its errors"; exit 1; }
fi
echo "ok - $n man pages, one per public function"
