#!/usr/bin/env bash
# Installs dependencies, fetches the built-in models, builds, and starts imagesearchd with
# every setting at its embedded default: 127.0.0.1:8080, data in ./data.
#
#   bash scripts/run.sh                                   # 127.0.0.1:8080, ./data
#   bash scripts/run.sh --port 9000 --data-dir /srv/iss   # another port and data dir
#   bash scripts/run.sh --listen 0.0.0.0:8080             # any imagesearchd flag
#
# --port N is run.sh's own (it means --listen 127.0.0.1:N); every other argument goes to
# imagesearchd as it is, and one given there replaces run.sh's default for it.
# ISS_RUN_SKIP_SETUP=1 skips install and build (a restart; the tests use it).
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:8080
data_dir=./data
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --port) listen="127.0.0.1:${2:?--port needs a number}"; shift 2 ;;
    --port=*) listen="127.0.0.1:${1#--port=}"; shift ;;
    --listen) listen="${2:?--listen needs HOST:PORT}"; shift 2 ;;
    --listen=*) listen="${1#--listen=}"; shift ;;
    --data-dir) data_dir="${2:?--data-dir needs a directory}"; shift 2 ;;
    --data-dir=*) data_dir="${1#--data-dir=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
# Its own build dir: scripts/test.sh's build/ (RelWithDebInfo, tests) is left as it is.
BUILD_DIR=${BUILD_DIR:-build-release}
if [ "${ISS_RUN_SKIP_SETUP:-0}" != 1 ]; then  # 1: start the binary already in $BUILD_DIR
  bash scripts/install-deps.sh
  bash scripts/fetch-model.sh
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DISS_BUILD_TESTS=OFF
  cmake --build "$BUILD_DIR" -j"$(nproc)" --target imagesearchd
fi
echo "run.sh: imagesearchd on http://$listen, data in $data_dir" >&2
exec "$BUILD_DIR/bin/imagesearchd" --data-dir "$data_dir" --listen "$listen" ${args[@]+"${args[@]}"}
