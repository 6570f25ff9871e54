#!/usr/bin/env bash
# halio's one set-up entry point, used by the README and by .ci/run.
#
#   ./dev.sh main   install what is missing, build, run the main job (halio probe,
#                   then halio bench on a 1 GiB scratch file)
#   ./dev.sh test   install what is missing, build, run every test, then the
#                   install check (C, C++ and CMake consumers of an installed halio)
#   ./dev.sh asan   the same tests in an ASan+UBSan build (build-asan/)
#   ./dev.sh tsan   the threaded suites in a ThreadSanitizer build (build-tsan/)
#   ./dev.sh fuzz [SECONDS]  the parser fuzzers (clang libFuzzer), 60 s each
#   ./dev.sh wine   cross-build for Windows (mingw-w64, build-win/), run every test
#                   that applies under Wine, then halio.exe probe and bench
#   ./dev.sh report regenerate tests/RELIABILITY.md from a run of the fault,
#                   allocation-failure and stress tests
#
# Packages come from Debian (apt-get, with sudo when not root). CI=true makes
# warnings errors.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(g++ meson ninja-build pkg-config liburing-dev libasio-dev libgtest-dev
          libgmock-dev libbenchmark-dev libcli11-dev libsimdjson-dev libxxhash-dev
          xxhash libfuse3-dev fuse3 python3-matplotlib cmake libcurl4-openssl-dev nginx npm
          python3-dev python3-numpy python3-pybind11 python3-pytest python3-mesonpy python3-pip
          libdlpack-dev python3-torch)

# Packages whose command may come from elsewhere: NodeSource's nodejs bundles
# npm and conflicts with Debian's npm package, so a working `npm` counts.
declare -A PACKAGE_COMMANDS=([npm]=npm)

install_missing() {
  local missing=()
  for package in "${PACKAGES[@]}"; do
    local command=${PACKAGE_COMMANDS[$package]:-}
    [ -n "$command" ] && command -v "$command" >/dev/null 2>&1 && continue
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "dev.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# configure DIR [meson options...]: set up once, reuse afterwards.
configure() {
  local dir=$1
  shift
  local options=("$@")
  [ "${CI:-}" = "true" ] && options+=(-Dwerror=true)
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "${options[@]}"
  fi
  meson compile -C "$dir"
}

# run_tests DIR [meson test args...]: the tests, then one plain summary line.
run_tests() {
  local dir=$1
  shift
  local status=0
  meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" || status=$?
  # meson's JUnit log has one testcase per gtest case (protocol: gtest).
  local junit="$dir/meson-logs/testlog.junit.xml"
  if [ -f "$junit" ]; then
    /usr/bin/python3 - "$junit" <<'PY'
import sys
import xml.etree.ElementTree as ET
passed = failed = skipped = 0
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
        failed += 1
    elif case.find("skipped") is not None:
        skipped += 1
    else:
        passed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
  fi
  return $status
}

command=${1:-}
case "$command" in
  main)
    install_missing
    configure build
    build/src/tools/halio probe
    build/src/tools/halio bench
    ;;
  test)
    install_missing
    configure build
    status=0
    run_tests build || status=$?
    tests/install/check.sh build
    exit $status
    ;;
  asan)
    install_missing
    configure build-asan -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args=-fno-sanitize-recover=all -Dbuildtype=debug
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 run_tests build-asan
    ;;
  tsan)
    install_missing
    # -Wno-tsan: gcc warns that asio's atomic_thread_fence is invisible to TSan.
    configure build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug \
      -Dcpp_args=-Wno-tsan
    # Every suite with threads: semaphores (hal), engines (async), devices,
    # the conformance suite over every device x backend, the stress tests,
    # the fault tests, the C ABI (asynchronous file I/O, the foreign driver)
    # and remote files (their transfer thread).
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    run_tests build-tsan --suite hal --suite async --suite drivers --suite cts --suite stress \
      --suite faults --suite capi --suite remote
    ;;
  report)
    install_missing
    configure build
    /usr/bin/python3 tests/reliability_report.py build tests/RELIABILITY.md
    ;;
  wine)
    # The cross build's headers and GoogleTest come from the build machine's
    # packages (cross/meson.build); simdjson from its wrap (Debian's source).
    PACKAGES+=(g++-mingw-w64-x86-64-posix wine64 googletest)
    install_missing
    # Wine's own state stays in the build folder; no Mono/Gecko (it would try
    # to download them) and none of its debug chatter.
    export WINEPREFIX="$PWD/build-win/wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    configure build-win --cross-file cross/x86_64-w64-mingw32.ini -Dbench=false \
      -Dio_uring=disabled -Dcurl=disabled -Dcuda=disabled -Dpython=disabled
    status=0
    run_tests build-win || status=$?
    export WINEPATH="$PWD/build-win"  # libhalio-0.dll, beside no halio.exe
    /usr/lib/wine/wine64 build-win/src/tools/halio.exe probe
    /usr/lib/wine/wine64 build-win/src/tools/halio.exe bench --size 256M
    exit $status
    ;;
  fuzz)
    PACKAGES+=(clang libclang-rt-dev)
    install_missing
    fuzz/run_fuzzers.sh "${2:-60}"
    ;;
  *)
    echo "usage: ./dev.sh main|test|asan|tsan|fuzz|report|wine" >&2
    exit 2
    ;;
esac
