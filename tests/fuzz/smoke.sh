#!/bin/sh
# tests/fuzz/smoke.sh SRC_DIR BUILD_DIR: the libFuzzer smoke for any build.
#
# The main build need not be clang: this configures a separate clang build
# in BUILD_DIR (cmake -DCMAKE_C_COMPILER=clang -DWM_FUZZ=ON), builds only the
# fuzz targets there (kept between runs, so a second run rebuilds only
# what changed), then runs 20000 inputs through each of fuzz_http,
# fuzz_image and fuzz_smtp from its seed corpus
# tests/fuzz/corpus/<http|image|smtp>. New inputs
# go to BUILD_DIR/scratch-<name> (emptied first,
# never the seed folder); a crashing input is written to
# BUILD_DIR/artifacts/ and the script exits non-zero. UBSan findings stop the
# run too (halt_on_error), as do AddressSanitizer reports and leaks.
#
# Needs the Debian packages clang and libclang-rt-14-dev (the libFuzzer and
# sanitizer runtimes); without them it fails and says so.
# Env: FUZZ_RUNS (default 20000), CLANG (default: clang on PATH).
set -eu
[ $# -eq 2 ] || { echo "usage: smoke.sh SRC_DIR BUILD_DIR" >&2; exit 2; }
src=$(cd "$1" && pwd)
dir=$2
runs=${FUZZ_RUNS:-20000}

fail() {
    echo "fuzz smoke: FAIL: $*" >&2
    exit 1
}

cc=${CLANG:-$(command -v clang || true)}
[ -n "$cc" ] && [ -x "$cc" ] ||
    fail "clang not found: install the Debian packages clang and libclang-rt-14-dev (sh .ci/setup.sh --test does)"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# Can clang link a libFuzzer target with the sanitizers? (The runtimes come
# from libclang-rt-14-dev, which clang itself does not pull in.)
probe="$dir/probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return n > 99999; }\n' >"$probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" 2>"$probe.log"; then
    sed 's/^/  /' "$probe.log" >&2
    fail "clang cannot link a libFuzzer target (-fsanitize=fuzzer,address,undefined): install the Debian package libclang-rt-14-dev"
fi
rm -f "$probe" "$probe.c" "$probe.log"

# Configure once (again only when the compiler or the option is not what
# this needs); the build step re-runs cmake by itself when CMakeLists change.
cache="$dir/CMakeCache.txt"
if [ ! -f "$cache" ] || ! grep -qx "WM_FUZZ:BOOL=ON" "$cache" ||
    ! grep -qxE "CMAKE_C_COMPILER:(STRING|FILEPATH)=$cc" "$cache"; then
    rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
    echo "fuzz smoke: configuring $dir (clang, WM_FUZZ=ON)"
    cmake -S "$src" -B "$dir" -DCMAKE_C_COMPILER="$cc" -DWM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log" >&2; fail "cmake configure failed"; }
fi
start=$(date +%s)
# One target a call: when CMakeLists changed, the first call regenerates the
# makefiles, which the same make run would not see for the later targets.
: >"$dir/build.log"
for target in fuzz_http fuzz_image fuzz_smtp; do
    cmake --build "$dir" --target "$target" -j"$(nproc 2>/dev/null || echo 2)" >>"$dir/build.log" 2>&1 ||
        { tail -50 "$dir/build.log" >&2; fail "building $target failed (full log: $dir/build.log)"; }
done
echo "fuzz smoke: fuzz_http, fuzz_image and fuzz_smtp built in $(($(date +%s) - start)) s"

export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
for name in http image smtp; do
    bin="$dir/tests/fuzz_$name"
    [ -x "$bin" ] || fail "$bin was not built"
    scratch="$dir/scratch-$name"
    artifacts="$dir/artifacts"
    rm -rf "$scratch"
    mkdir -p "$scratch" "$artifacts"
    log="$dir/fuzz-$name.log"
    status=0
    "$bin" -runs="$runs" -max_len=4096 -timeout=25 -artifact_prefix="$artifacts/" \
        "$scratch" "$src/tests/fuzz/corpus/$name" >"$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ] || grep -q -e "runtime error:" -e "ERROR: AddressSanitizer" -e "ERROR: LeakSanitizer" "$log"; then
        tail -80 "$log" >&2
        ls -l "$artifacts" >&2 || true
        fail "fuzz_$name exited with $status (full log: $log; reproduce: $bin $artifacts/<file>)"
    fi
    grep -E "^Done [0-9]+ runs" "$log" || true
    echo "fuzz smoke: fuzz_$name ok ($(ls "$scratch" | wc -l) new inputs in $scratch)"
done
