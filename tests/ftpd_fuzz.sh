#!/bin/sh
# Fuzzes corio-ftpd's command parser and session state machine with
# libFuzzer (clang -fsanitize=fuzzer,address,undefined) for a bounded time
# (FTPD_FUZZ_SECONDS, default 20), starting from a small corpus of real
# sessions. Skipped when clang or libFuzzer is missing.
# CIO_TEST_TIMEOUT=100
set -u
if [ "${SAN:-0}" = 1 ]; then
    echo "SKIP: the fuzz target builds its own sanitizers; the normal pass runs it"
    exit 77
fi
command -v clang >/dev/null || { echo "SKIP: clang not installed"; exit 77; }
secs=${FTPD_FUZZ_SECONDS:-20}
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
srcs=$(ls src/*/*.c apps/corio-ftpd/*.c | grep -v -e 'apps/corio-ftpd/main\.c' -e 'apps/corio-ftpd/auth\.c')
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
        -o "$tmp/fuzz" -lcrypt $(pkg-config --libs libcrypto 2>/dev/null) \
        >>"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "FAIL: the fuzz target does not build"
    exit 1
fi
mkdir "$tmp/corpus" "$tmp/root"
n=0
seed() { n=$((n + 1)); printf "$1" > "$tmp/corpus/seed$n"; }
seed '\000USER u\r\nPASS p\r\nPWD\r\nQUIT\r\n'
seed '\001CWD /incoming\r\nCDUP\r\nMKD a\r\nRMD a\r\nTYPE A\r\nSTAT\r\n'
seed '\001PASV\r\nLIST\r\nEPSV\r\nRETR file.txt\r\nABOR\r\nSTAT\r\n'
seed '\001REST 5\r\nRNFR file.txt\r\nRNTO x\r\nRNFR x\r\nRNTO file.txt\r\n'
seed '\003FEAT\r\nOPTS UTF8 ON\r\nMLST file.txt\r\nSIZE file.txt\r\nMDTM file.txt\r\n'
seed '\001PORT 127,0,0,1,4,1\r\nEPRT |1|127.0.0.1|1025|\r\nEPSV ALL\r\nPASV\r\n'
seed '\001SITE CHMOD 644 file.txt\r\nMFMT 20200101000000 file.txt\r\nHASH file.txt\r\n'
seed '\000USER x\r\nPASS y\r\nUSER x\r\nPASS y\r\nUSER x\r\nPASS y\r\n'
seed '\001\377\364\377\362ABOR\r\nHELP\r\nHELP RETR\r\nREIN\r\nNOOP\r\n'
echo "fuzzing for ${secs}s"
FTPD_FUZZ_ROOT="$tmp/root" ASAN_OPTIONS=detect_leaks=1 \
    "$tmp/fuzz" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -print_final_stats=1 "$tmp/corpus" >"$tmp/fuzz.log" 2>&1
rc=$?
tail -n 15 "$tmp/fuzz.log"
if [ $rc -ne 0 ]; then
    grep -m 40 -A 30 'ERROR\|runtime error\|Timeout\|leak' "$tmp/fuzz.log" | head -80
    echo "FAIL: libFuzzer found a problem (exit status $rc)"
    exit 1
fi
echo ok
