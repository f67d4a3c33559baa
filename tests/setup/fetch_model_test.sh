#!/usr/bin/env bash
# The model set-up step: idempotent on an up-to-date model directory, and loud (non-zero
# exit, clear message, nothing installed) when the package it is given is not the pinned one.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# 1. Idempotent: the real model directory is up to date; a second run changes nothing.
before=$(sha256sum "$ROOT"/models/*.onnx)
out=$(bash "$ROOT/scripts/fetch-model.sh" 2>&1) || fail "fetch-model.sh failed: $out"
echo "$out" | grep -q "up to date" || fail "second run was not a no-op: $out"
[ "$before" = "$(sha256sum "$ROOT"/models/*.onnx)" ] || fail "models changed"

# 2. A tampered package is refused before anything is converted or installed.
mkdir -p "$TMP/cache" "$TMP/models"
head -c 100000 /dev/urandom > "$TMP/cache/nsfwjs-4.3.0.tgz"
out=$(ISS_MODEL_CACHE="$TMP/cache" bash "$ROOT/scripts/fetch-model.sh" "$TMP/models" 2>&1) \
  && fail "a tampered package was accepted"
echo "$out" | grep -q "integrity" || fail "no integrity message: $out"
[ -z "$(ls "$TMP/models")" ] || fail "something was installed: $(ls "$TMP/models")"
[ ! -f "$TMP/cache/nsfwjs-4.3.0.tgz" ] || fail "the bad package was kept in the cache"

# 3. A model whose file no longer matches its checksum is not "up to date".
cp "$ROOT"/models/common-search.onnx* "$TMP/models/"
printf 'x' >> "$TMP/models/common-search.onnx"
(cd "$TMP/models" && sha256sum --status -c common-search.onnx.sha256) && fail "checksum not checked"
echo "fetch_model_test: 3 passed, 0 failed"
