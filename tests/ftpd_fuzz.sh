#!/bin/sh
# Fuzzes corio-ftpd (command parser, session state machine, users module,
# HASH with libcrypto, and the data path: LIST, RETR, STOR over PASV/EPSV)
# with libFuzzer (clang -fsanitize=fuzzer,address,undefined) for a bounded
# time (FTPD_FUZZ_SECONDS, default 20), starting from the corpus kept in
# apps/corio-ftpd/fuzz/corpus. Skipped when clang or libFuzzer is missing.
#
# `make fuzz FUZZ_SECONDS=N` runs it with FTPD_FUZZ_MERGE=1: the inputs
# that reach new code are then merged into the kept corpus (libFuzzer's
# -merge=1 keeps only those), and the work corpus in build/fuzz carries
# over from one run to the next.
# CIO_TEST_TIMEOUT=100
set -u
if [ "${SAN:-0}" = 1 ]; then
    echo "SKIP: the fuzz target builds its own sanitizers; the normal pass runs it"
    exit 77
fi
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
secs=${FTPD_FUZZ_SECONDS:-20}
kept=apps/corio-ftpd/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
probe="$tmp/probe.c"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' > "$probe"
if ! clang -fsanitize=fuzzer "$probe" -o "$tmp/probe" 2>/dev/null; then
    echo "SKIP: libFuzzer not available (clang -fsanitize=fuzzer failed)"
    exit 77
fi
arch=$(clang -dumpmachine | cut -d- -f1)
sw=$(ls src/arch/switch-"$arch".S 2>/dev/null)
flags="-std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Iapps/corio-ftpd -g -O1 -pthread"
[ -n "$sw" ] || flags="$flags -DCIO_USE_UCONTEXT=1"
crypto=""
if pkg-config --exists libcrypto 2>/dev/null; then
    flags="$flags -DFTPD_HAVE_LIBCRYPTO=1 $(pkg-config --cflags libcrypto)"
    crypto=$(pkg-config --libs libcrypto)
else
    echo "note: no libcrypto: HASH is not fuzzed"
fi
srcs=$(ls src/*/*.c apps/corio-ftpd/*.c | grep -v 'apps/corio-ftpd/main\.c')
echo "building the fuzz target"
export flags tmp
mkdir "$tmp/obj"
# One clang per source, two at a time: a serial build takes most of a minute.
if ! printf '%s\n' apps/corio-ftpd/fuzz/ftpd_cmd_fuzz.c $srcs $sw |
    xargs -P "$(nproc)" -I{} sh -c \
        'clang $flags -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=undefined -c {} \
            -o "$tmp/obj/$(echo {} | tr / _).o"' >"$tmp/build.log" 2>&1 ||
   ! clang -fsanitize=fuzzer,address,undefined -pthread "$tmp"/obj/*.o \
        -o "$tmp/fuzz" -lcrypt $crypto >>"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "FAIL: the fuzz target does not build"
    exit 1
fi
# FTPD_FUZZ_BIN=PATH keeps a copy of the target (to replay a finding).
[ -n "${FTPD_FUZZ_BIN:-}" ] && cp "$tmp/fuzz" "$FTPD_FUZZ_BIN"
if [ "${FTPD_FUZZ_MERGE:-0}" = 1 ]; then
    work=${BUILD:-build}/fuzz/corpus
    mkdir -p "$work"
else
    work="$tmp/corpus"
    mkdir "$work"
fi
cp "$kept"/* "$work"/ 2>/dev/null
mkdir "$tmp/root"
run() { # libFuzzer arguments...
    FTPD_FUZZ_ROOT="$tmp/root" ASAN_OPTIONS=detect_leaks=1 \
        "$tmp/fuzz" -timeout=10 -rss_limit_mb=2048 -max_len=4096 "$@"
}
echo "fuzzing for ${secs}s from $(ls "$work" | wc -l) inputs"
run -max_total_time="$secs" -print_final_stats=1 "$work" >"$tmp/fuzz.log" 2>&1
rc=$?
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)' "$tmp/fuzz.log" | sed 's/^/libFuzzer: /'
tail -n 12 "$tmp/fuzz.log"
if [ $rc -ne 0 ]; then
    grep -m 40 -A 30 'ERROR\|runtime error\|Timeout\|leak' "$tmp/fuzz.log" | head -80
    for crash in crash-* leak-* timeout-* oom-*; do
        [ -e "$crash" ] && mv "$crash" "$tmp/" && echo "finding: $crash"
    done
    echo "FAIL: libFuzzer found a problem (exit status $rc)"
    exit 1
fi
if [ "${FTPD_FUZZ_MERGE:-0}" = 1 ]; then
    before=$(ls "$kept" | wc -l)
    run -merge=1 "$kept" "$work" >"$tmp/merge.log" 2>&1 ||
        { tail -n 20 "$tmp/merge.log"; echo "FAIL: merge"; exit 1; }
    echo "kept corpus: $before -> $(ls "$kept" | wc -l) inputs ($kept)"
fi
echo ok
