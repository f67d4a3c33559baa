#!/usr/bin/env bash
# libFuzzer targets (fuzz/): build them with clang-14 (ASan + UBSan + libFuzzer) in
# build-fuzz/, then run each from its committed seed corpus (fuzz/corpus/<target>/).
#
#   scripts/fuzz.sh                  # CI: every target ~15 s (total < 2 min)
#   scripts/fuzz.sh --long 3600      # on demand: every target 3600 s
#   scripts/fuzz.sh --long 600 image_fuzzer   # one target
#
# New inputs found go to build-fuzz/corpus/<target>/ (never into the committed seeds); a
# crash leaves its reproducer in build-fuzz/artifacts/<target>/ and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=15
if [[ "${1:-}" == "--long" ]]; then
  SECONDS_EACH="${2:?--long needs SECONDS}"
  shift 2
fi
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then
  TARGETS=(request_json_fuzzer base64_fuzzer image_fuzzer authorization_fuzzer
           http_path_fuzzer snapshot_fuzzer)
fi
CXX_BIN="$(command -v clang++-14 || command -v clang++)"
cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"${FUZZ_JOBS:-2}" --target "${TARGETS[@]}"
status=0
for t in "${TARGETS[@]}"; do
  work="build-fuzz/corpus/$t"
  artifacts="build-fuzz/artifacts/$t/"
  mkdir -p "$work" "$artifacts"
  echo "== $t: ${SECONDS_EACH}s"
  if ! UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
       ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
       "build-fuzz/$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
         -max_len=1048576 -artifact_prefix="$artifacts" -print_final_stats=1 \
         "$work" "fuzz/corpus/$t" 2>"build-fuzz/$t.log"; then
    echo "!! $t failed: see build-fuzz/$t.log and $artifacts"
    tail -40 "build-fuzz/$t.log"
    status=1
  fi
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "build-fuzz/$t.log" || true
done
exit $status
