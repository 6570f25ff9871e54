#!/usr/bin/env bash
# Installs BUILD_DIR into a scratch prefix and builds against it, then runs:
# tests/install/consumer.cc (C++) and consumer.c (C, the README's example)
# with pkg-config only, and consumer.c again with CMake (find_package(halio)).
set -euo pipefail
build_dir=${1:-build}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$build_dir" --destdir "$root" --quiet
prefix=$(meson introspect "$build_dir" --buildoptions |
  /usr/bin/python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"))')
pc_dir=$(dirname "$(find "$root" -name halio.pc | head -1)")
export PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$pc_dir
libdir=$(pkg-config --variable=libdir halio)
c++ -std=c++20 "$(dirname "$0")/consumer.cc" $(pkg-config --cflags --libs halio) \
  -Wl,-rpath,"$libdir" -o "$root/consumer"
"$root/consumer"

# The C ABI from C, against the installed halio.h: the README's example as
# written there (its first ```c block), then consumer.c (the same program) through CMake.
model=$(cd "$(dirname "$0")/../io/testdata" && pwd)/st_all_dtypes.safetensors
awk '/^```c$/ {inside = 1; next} /^```$/ && inside {exit} inside' \
  "$(dirname "$0")/../../README.md" > "$root/readme_example.c"
grep -q "halio_load(" "$root/readme_example.c"
cc -std=c11 -Wall -Wextra -Werror -pedantic "$root/readme_example.c" \
  $(pkg-config --cflags --libs halio) -Wl,-rpath,"$libdir" -o "$root/c_consumer"
"$root/c_consumer" "$model" > "$root/c_consumer.txt"
grep -q "^t_f32: 24 bytes$" "$root/c_consumer.txt"

# CMake: find_package(halio CONFIG REQUIRED) and halio::halio from the prefix.
cmake -S "$(dirname "$0")/cmake" -B "$root/cmake_build" -DCMAKE_PREFIX_PATH="$root$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$root/cmake.log" 2>&1 || { cat "$root/cmake.log" >&2; exit 1; }
cmake --build "$root/cmake_build" > "$root/cmake_build.log" 2>&1 ||
  { cat "$root/cmake_build.log" >&2; exit 1; }
"$root/cmake_build/consumer" "$model" | cmp - "$root/c_consumer.txt"

# The installed CLI must run without the source or build tree: its library
# through its rpath, its scripts from share/halio (bench --load's numpy
# reference is found even where numpy itself is missing).
halio_bin=$(find "$root" -path '*/bin/halio' -type f | head -1)
moved=$(mktemp -d)
trap 'rm -rf "$root" "$moved"' EXIT
cp "$(dirname "$0")/../io/testdata/st_all_dtypes.safetensors" "$moved/model.safetensors"
(cd "$moved" && "$halio_bin" probe > probe.txt)
(cd "$moved" && "$halio_bin" bench --load model.safetensors > load.txt 2>&1)
if grep -q "halio's script" "$moved/load.txt"; then
  cat "$moved/load.txt" >&2
  echo "install check: the installed halio cannot find its scripts" >&2
  exit 1
fi
grep -q "numpy.fromfile" "$moved/load.txt"
echo "install check: ok (prefix $prefix)"
