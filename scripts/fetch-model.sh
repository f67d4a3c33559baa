#!/usr/bin/env bash
# Set-up step for the built-in models: fetches the pinned npm package nsfwjs@4.3.0 (its
# MobileNetV2 and InceptionV3 weights are the only deep-model weights reachable here),
# checks its integrity, converts the chosen layers to ONNX and verifies the result against
# an independent NumPy forward pass and the committed golden embeddings.
# Idempotent: a model whose ONNX already matches its recorded checksum is left alone.
# Usage: scripts/fetch-model.sh [MODEL_DIR]   (default: <repo>/models)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODEL_DIR=${1:-$ROOT/models}
CACHE=${ISS_MODEL_CACHE:-$ROOT/third_party/cache}  # override: tests use a scratch cache
PKG=nsfwjs
VERSION=4.3.0
INTEGRITY='sha512-WTKDte0vp1X97N1h34P79G/hG+sVT3+TnDz9di1WseIJR93v11E4viNX7Vg9WsO6HYoR772Nzq2iM8jo3XBZ+g=='
PY=/usr/bin/python3
# name  tfjs-model-dir  cut-layer
MODELS=(
  "common-search mobilenet_v2 block_13_expand_relu"
  "common-search-accurate inception_v3 mixed7"
  "image-recommend inception_v3 mixed9"
)

up_to_date() {  # name
  local onnx=$MODEL_DIR/$1.onnx sum=$MODEL_DIR/$1.onnx.sha256
  [ -f "$onnx" ] && [ -f "$sum" ] && (cd "$MODEL_DIR" && sha256sum --status -c "$1.onnx.sha256")
}

all_ok=1
for spec in "${MODELS[@]}"; do
  read -r name _ _ <<<"$spec"
  up_to_date "$name" || all_ok=0
done
if [ "$all_ok" = 1 ]; then
  echo "fetch-model: models in $MODEL_DIR are up to date"
  exit 0
fi

mkdir -p "$CACHE" "$MODEL_DIR"
TGZ=$CACHE/$PKG-$VERSION.tgz
if [ ! -f "$TGZ" ]; then
  echo "fetch-model: npm pack $PKG@$VERSION"
  (cd "$CACHE" && npm pack --silent "$PKG@$VERSION" >/dev/null)
fi
actual="sha512-$(openssl dgst -sha512 -binary "$TGZ" | base64 -w0)"
if [ "$actual" != "$INTEGRITY" ]; then
  echo "fetch-model: ERROR: $TGZ has integrity $actual, expected $INTEGRITY" >&2
  rm -f "$TGZ"
  exit 1
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
tar -xzf "$TGZ" -C "$WORK"
for spec in "${MODELS[@]}"; do
  read -r name src cut <<<"$spec"
  up_to_date "$name" && continue
  echo "fetch-model: converting $src up to $cut -> $name.onnx"
  node "$ROOT/tools/model/dump_tfjs.js" "$WORK/package/dist/models/$src" "$WORK/$src"
  $PY "$ROOT/tools/model/convert.py" "$WORK/$src" "$cut" "$WORK/$name.onnx"
  $PY "$ROOT/tools/model/verify.py" "$WORK/$src" "$cut" "$WORK/$name.onnx" \
      "$ROOT/tests/data/golden.jpg" "$ROOT/tools/model/golden-$name.json"
  mv "$WORK/$name.onnx" "$MODEL_DIR/$name.onnx"
  (cd "$MODEL_DIR" && sha256sum "$name.onnx" >"$name.onnx.sha256")
done
echo "fetch-model: models ready in $MODEL_DIR"
