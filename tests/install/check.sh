#!/usr/bin/env bash
# Installs BUILD_DIR into a scratch prefix and builds tests/install/consumer.cc
# against it with pkg-config only, then runs it.
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
