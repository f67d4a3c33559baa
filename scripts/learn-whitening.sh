#!/usr/bin/env bash
# Re-learns models/common-search.pca, the calibration of the default model (docs/models.md
# "Calibrated similarity"), from the photos of three Debian 12 wallpaper packages that no
# evaluation set uses: ukui-wallpapers, gnome-backgrounds, lomiri-wallpapers-20.04 (32
# images; 55 crops each, 2 synthetic copy edits per crop). Deterministic on one machine
# (fixed crops, fixed RNG seed); about 10 minutes on 2 cores. The learned file is committed
# with its SHA-256 in models/common-search.toml, so set-up (scripts/fetch-model.sh) does not
# run this; run it to audit or after changing the network, then update `whitening_sha256`.
#   scripts/learn-whitening.sh [BUILD_DIR] [OUT]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="${2:-$root/models/common-search.pca}"
pkgs=(ukui-wallpapers gnome-backgrounds lomiri-wallpapers-20.04)
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    echo "learn-whitening: package $p is missing (scripts/install-deps.sh installs it)" >&2
    exit 1
  fi
done
# Only the packages' own files: other packages (e.g. the eval sets' sources) share the folder.
mapfile -t images < <(dpkg -L "${pkgs[@]}" | grep -E '\.(jpg|png|webp)$' | sort)
echo "learn-whitening: ${#images[@]} images from ${pkgs[*]}"
"$build/bin/imagesearch-bench" learn_whitening --model common-search --model-dir "$root/models" \
  --views 2 --shrink 0.1 --out "$out" "${images[@]}"
echo "learn-whitening: put this in models/common-search.toml: whitening_sha256 = \"$(sha256sum "$out" | cut -d' ' -f1)\""
