#!/usr/bin/env bash
# Installs dependencies, fetches the built-in models, builds, and starts imagesearchd on
# 127.0.0.1:8080 with its data in ./data (all other settings at their embedded defaults).
# Extra arguments are passed to imagesearchd, e.g. `bash scripts/run.sh --listen 0.0.0.0:8080`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-model.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISS_BUILD_TESTS=OFF
cmake --build "$BUILD_DIR" -j"$(nproc)" --target imagesearchd
exec "$BUILD_DIR/bin/imagesearchd" --data-dir ./data --listen 127.0.0.1:8080 "$@"
