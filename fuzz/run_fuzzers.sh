#!/usr/bin/env bash
# Builds the libFuzzer targets for the parameter-file parsers with clang
# (ASan + UBSan) as Meson targets (-Dfuzz=true, in build-fuzz/), seeds each corpus with the
# checked-in fixtures (tests/io/testdata) and runs each target for a bounded
# time. Fails on any crash, leak, timeout or sanitizer report.
#
#   fuzz/run_fuzzers.sh [SECONDS_PER_TARGET (60)] [WORK_DIR (${TMPDIR:-/tmp}/halio-fuzz)]
#
# Needs clang++ with libFuzzer (Debian: clang, libclang-rt-dev) and simdjson
# (libsimdjson-dev). Crashing inputs are left in WORK_DIR as crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=${1:-60}
work=${2:-${TMPDIR:-/tmp}/halio-fuzz}
cxx=${CXX_FUZZ:-clang++}
mkdir -p "$work"

# The fuzz targets are Meson targets (fuzz/meson.build) built from the formats
# library in their own build directory, with ASan + UBSan.
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
if [ ! -f "$build/build.ninja" ]; then
  CXX="$cxx" meson setup "$build" -Dfuzz=true -Dtests=false -Dbench=false \
    -Dbuildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fno-sanitize-recover=all >&2
fi
echo "fuzz: building the fuzz targets in $build" >&2
meson compile -C "$build" fuzz/safetensors_fuzzer fuzz/gguf_fuzzer >&2

seed() {  # seed CORPUS PATTERN...: copy the fixtures matching PATTERN into CORPUS
  local corpus=$1
  shift
  mkdir -p "$corpus"
  for pattern in "$@"; do
    cp tests/io/testdata/$pattern "$corpus"/ 2>/dev/null || true
  done
}

run() {  # run NAME DICTIONARY PATTERN...
  local name=$1 dict=$2
  shift 2
  seed "$work/corpus-$name" "$@"
  echo "fuzz: running $name for ${seconds}s" >&2
  # libFuzzer logs every new input; keep that in a file and show its end.
  local status=0
  (cd "$work" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$root/fuzz/$dict" -print_final_stats=1 "corpus-$name") > "$work/$name.log" 2>&1 ||
    status=$?
  if [ "$status" -ne 0 ]; then
    tail -n 80 "$work/$name.log" >&2
    echo "fuzz: $name failed (exit $status); full log $work/$name.log" >&2
    exit "$status"
  fi
  grep -E '^stat::|Done [0-9]+ runs' "$work/$name.log" >&2 || tail -n 5 "$work/$name.log" >&2
}

run safetensors_fuzzer safetensors.dict '*.safetensors' '*.json'
run gguf_fuzzer gguf.dict '*.gguf'
echo "fuzz: no crashes in ${seconds}s per target" >&2
