#!/usr/bin/env bash
# On demand, not part of the default suite: builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/ and runs the unit tests (gtest) there; any
# sanitizer report fails the run. Pass --all to run the integration suites too (the real
# imagesearchd under ASan: several times slower). Needs what scripts/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DISS_SANITIZE=address,undefined
cmake --build "$BUILD_DIR" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD_DIR"
if [ "${1:-}" = "--all" ]; then
  ctest --output-on-failure -j"$(nproc)" --timeout 1800
else
  ctest --output-on-failure -j"$(nproc)" --timeout 1800 -E '^(integration_|setup_)'
fi
