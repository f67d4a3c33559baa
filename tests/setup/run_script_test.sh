#!/usr/bin/env bash
# The README's newcomer path: scripts/run.sh with --port and --data-dir (honoured), --listen
# without a duplicate-flag failure, other flags reaching imagesearchd; then the README's
# curl walk-through through the eight operations, as printed, against that server. The
# install and build steps are skipped (ISS_RUN_SKIP_SETUP=1, BUILD_DIR = the test build).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ISS_BUILD_DIR:?ISS_BUILD_DIR is the build dir holding bin/imagesearchd}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_health() {  # $1 port
  for _ in $(seq 1 200); do
    if curl -sf "http://127.0.0.1:$1/health" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "run.sh exited:"; cat "$tmp/log"; return 1; }
    sleep 0.1
  done
  echo "no /health on port $1"; cat "$tmp/log"; return 1
}
start() {  # run.sh arguments
  (cd "$root" && BUILD_DIR="$build" ISS_RUN_SKIP_SETUP=1 exec bash scripts/run.sh "$@") \
    >"$tmp/log" 2>&1 &
  pid=$!
}
stop() { kill "$pid"; wait "$pid" || true; pid=; }

port=$(free_port)
start --port "$port" --data-dir "$tmp/d1" --log-level warn
wait_health "$port"
[ -f "$tmp/d1/bootstrap.json" ] || { echo "data dir not used"; ls -la "$tmp/d1"; exit 1; }

# The README's walk through the eight operations, as printed, against this server.
/usr/bin/python3 - "$root/README.md" >"$tmp/walk.sh" <<'PY'
import sys
text = open(sys.argv[1]).read()
start = text.index("```sh", text.index("## A walk through the eight operations")) + len("```sh")
print(text[start:text.index("```", start)])
PY
sed -i -e "s|http://127.0.0.1:8080|http://127.0.0.1:$port|" \
       -e "s|build-release/bin/imagesearchd|$build/bin/imagesearchd|" \
       -e "s|--data-dir ./data|--data-dir $tmp/d1|" \
       -e "s|tests/data/golden.jpg|$root/tests/data/golden.jpg|" "$tmp/walk.sh"
grep -q "127.0.0.1:$port" "$tmp/walk.sh" || { echo "README walk-through not found"; exit 1; }
(cd "$tmp" && bash -euo pipefail walk.sh) >"$tmp/walk.out" 2>&1 || {
  echo "the README walk-through failed:"; cat "$tmp/walk.out"; exit 1; }
expect() { grep -qF -- "$1" "$tmp/walk.out" || { echo "README walk-through: no $1 in"; cat "$tmp/walk.out"; exit 1; }; }
expect '"result":"Success"'
expect '"exist":"true"'
expect '"path":"shoe-1.jpg"'
expect '"instanceName":"shoes"'
[ "$(grep -o '"result":"Success"' "$tmp/walk.out" | wc -l)" -ge 3 ] || {
  echo "README walk-through: fewer than 3 successes (add, modify, delete)"; cat "$tmp/walk.out"; exit 1; }
if grep -q '"error_code"' "$tmp/walk.out"; then echo "README walk-through: an error"; cat "$tmp/walk.out"; exit 1; fi
stop

port=$(free_port)
start --listen "127.0.0.1:$port" --data-dir="$tmp/d2"
wait_health "$port"
[ -d "$tmp/d2" ] || { echo "--data-dir= form not used"; exit 1; }
stop
echo "run_script_test: ok"
