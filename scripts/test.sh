#!/usr/bin/env bash
# The README's second command (and .ci/run): installs what is needed, builds
# Mantle with its tests and runs the whole suite through CTest.
#   MANTLE_SANITIZE=1  build in build-asan/ with ASan+UBSan and run the suite there
#   CTEST_ARGS="-L slow" / "-LE slow"  pass arguments to ctest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${MANTLE_SANITIZE:-0}" = "1" ]; then
  export MANTLE_BUILD_DIR=${MANTLE_BUILD_DIR:-$root/build-asan}
  extra=(-DMANTLE_SANITIZE=ON -DMANTLE_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  extra=()
fi
build=${MANTLE_BUILD_DIR:-$root/build}
"$root/scripts/build.sh" -DMANTLE_BUILD_TESTS=ON "${extra[@]}"
cd "$build"
# shellcheck disable=SC2086
ctest --output-on-failure -j "$(nproc)" ${CTEST_ARGS:-}
