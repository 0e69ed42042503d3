#!/bin/sh
# sleep_demo prints the seed's four lines in order and, since foo and bar
# sleep at the same time, takes about 2 s rather than 3.
# CIO_TEST_ALL_BACKENDS
set -eu
bin="$CIO_BIN/sleep_demo"
[ -x "$bin" ] || { echo "FAIL: $bin missing"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s%N)
"$bin" >"$out/stdout"
end=$(date +%s%N)
ms=$(( (end - start) / 1000000 ))
cat >"$out/expected" <<'EOT'
Running in foo
Explicit context to bar
Implicit context switch to bar
Explicit context switch to foo again
EOT
diff -u "$out/expected" "$out/stdout"
echo "ran in $ms ms"
if [ "$ms" -lt 1900 ] || [ "$ms" -ge 2900 ]; then
    echo "FAIL: expected about 2000 ms"
    exit 1
fi
