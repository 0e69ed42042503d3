#!/bin/sh
# The build as a packager drives it, checked on make's dry runs: user
# CFLAGS/CPPFLAGS/LDFLAGS are added to the flags the build needs, never
# replace them (the .S rule gets them too); WERROR=0 drops -Werror; the
# library is compiled with hidden visibility; make test passes TESTS through
# untouched; an optional peer that appears after a build rebuilds what uses
# it.
set -u
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
b=$tmp/build # a build directory of our own: nothing here is really built

make -n -B BUILD="$b" CFLAGS=-O0 CPPFLAGS=-DCIO_X=1 LDFLAGS=-Wl,-O1 \
    "$b/lib/libcorio.so.1.0.0" >"$tmp/n" 2>&1 || { cat "$tmp/n"; fail "make -n"; }
cc_line=$(grep -m1 ' -c src/hub/task.c' "$tmp/n")
for want in -std=c11 -fPIC -pthread -Iinclude -Isrc -D_GNU_SOURCE -Werror \
    -Wmissing-prototypes -fvisibility=hidden -O0 -DCIO_X=1; do
    case " $cc_line " in *" $want "*) ;; *) fail "'$want' missing: $cc_line" ;; esac
done
case " $cc_line " in *" -O2 "*) fail "-O2 still there with CFLAGS=-O0" ;; esac
s_line=$(grep -m1 '\.S -o' "$tmp/n") || fail "no .S rule in: $(head -n 3 "$tmp/n")"
case " $s_line " in *" -O0 "*" -g"* | *" -O0 "*) ;; *) fail "CFLAGS not on the .S rule: $s_line" ;; esac
grep -m1 -- '-shared' "$tmp/n" | grep -q -- '-Wl,-O1' || fail "LDFLAGS not on the link"
grep -m1 -- '-shared' "$tmp/n" | grep -q -- '-soname,libcorio.so.1 ' || fail "soname"

make -n -B BUILD="$b" WERROR=0 "$b/obj/src/hub/task.o" >"$tmp/n" 2>&1
grep -q -- '-Werror' "$tmp/n" && fail "WERROR=0 still has -Werror"
make -n -B BUILD="$b" "$b/obj/examples/sleep_demo.o" >"$tmp/n" 2>&1
grep -q -- '-fvisibility=hidden' "$tmp/n" && fail "programs built with hidden visibility"

# TESTS reaches the runner as given, script names included.
make -n BUILD="$b" test TESTS="hub_basic install.sh" >"$tmp/n" 2>&1 ||
    { cat "$tmp/n"; fail "make -n test TESTS=..."; }
grep -q 'TESTS="hub_basic install.sh" sh tests/run.sh' "$tmp/n" ||
    fail "TESTS not passed to the runner: $(grep run.sh "$tmp/n")"
grep -q 'tests/io_copy' "$tmp/n" && fail "make test TESTS=... builds other tests"

# A peer detected differently from the last build rebuilds its users: the
# stamp says "changed" (as after installing libcurl), the object is newer.
mkdir -p "$b/obj/tests" "$b/peers"
echo changed >"$b/peers/curl"
touch -d '2001-01-01' "$b/peers/curl"
touch "$b/obj/tests/hook_curl.o"
make -n BUILD="$b" "$b/obj/tests/hook_curl.o" >"$tmp/n" 2>&1
grep -q 'tests/hook_curl.c' "$tmp/n" || fail "hook_curl not rebuilt after its peer changed"
touch "$b/obj/tests/hook_curl.o" # the stamp is current now: nothing to do
make -n BUILD="$b" "$b/obj/tests/hook_curl.o" >"$tmp/n" 2>&1
grep -q 'tests/hook_curl.c' "$tmp/n" && fail "hook_curl rebuilt though nothing changed"
echo "ok - user flags added, WERROR=0, hidden library symbols, TESTS passed through, peers re-detected"
