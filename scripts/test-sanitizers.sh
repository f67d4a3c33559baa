#!/usr/bin/env bash
# Sanitizer builds and runs (CI runs both modes after scripts/test.sh; see README "Tests").
#
#   bash scripts/test-sanitizers.sh            # ASan + UBSan: every unit test (gtest)
#   bash scripts/test-sanitizers.sh --all      # ... and the integration suites (slow)
#   bash scripts/test-sanitizers.sh --thread   # TSan: the concurrency tests
#
# ASan/UBSan builds everything into build-asan/; TSan builds only the concurrency test
# targets into build-tsan/ and runs them (executor, index background work on the shared
# executor, engine searches during writes, the HTTP server's threads, the store's writer at
# a power cut). Any sanitizer report fails the run. Needs what scripts/test.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
if [ "$mode" = "--thread" ]; then
  BUILD_DIR=${BUILD_DIR:-build-tsan}
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DISS_SANITIZE=thread -DISS_BUILD_BENCH=OFF -DISS_WERROR=ON
  targets=(common_test index_tiered_test index_background_test engine_test engine_catalog_test
           api_test store_durability_test)
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"
  # Uninstrumented libraries (libgomp inside Faiss, OpenBLAS, OpenCV's thread pool) synchronise
  # in ways TSan cannot see: their frames are suppressed, ours never are.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp"
  export OMP_NUM_THREADS=1
  bin="$BUILD_DIR/bin"
  "$bin/common_test"
  "$bin/index_tiered_test" --gtest_filter='*Background*:*Concurrent*:*Thread*'
  "$bin/index_background_test"
  "$bin/engine_test" --gtest_filter='*SearchesRunDuringWrites*'
  "$bin/engine_catalog_test" --gtest_filter='*Blocks*'
  "$bin/api_test" --gtest_filter='HttpServerTest.*:PipelineTest.*:RateLimiterTest.*'
  "$bin/store_durability_test"
  echo "test-sanitizers: TSan clean"
  exit 0
fi
BUILD_DIR=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DISS_SANITIZE=address,undefined -DISS_BUILD_BENCH=OFF -DISS_WERROR=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$BUILD_DIR"
if [ "$mode" = "--all" ]; then
  ctest --output-on-failure -j"$(nproc)" --timeout 1800
else
  ctest --output-on-failure -j"$(nproc)" --timeout 1800 -E '^(integration_|setup_)'
fi
