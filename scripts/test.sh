#!/usr/bin/env bash
# Installs dependencies, fetches and converts the built-in models, checks formatting and
# the module layering, builds with -Werror, and runs every test of the default suite (unit +
# integration) with ctest. Long soak/scale runs are not part of it: see README "Tests".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-model.sh
# The AK/SK signer tests use the cloud's own Node.js SDK core, pinned by package-lock.json.
if [ -f tests/node/package-lock.json ]; then
  (cd tests/node && npm ci --no-audit --no-fund --silent)
fi
bash scripts/check-format.sh
/usr/bin/python3 scripts/check-layering.py
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DISS_WERROR=ON
cmake --build "$BUILD_DIR" -j"$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" --timeout 900
