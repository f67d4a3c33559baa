#!/usr/bin/env bash
# Packaging: `cmake --install` gives a tree whose imagesearchd finds its models by itself
# (<prefix>/share/imagesearch/models) and serves; `cpack` builds the .deb, which holds the
# binaries (stripped), the converted models, the hardened systemd unit (checked by
# systemd-analyze where it runs) and the configuration; its Depends come from
# dpkg-shlibdeps; the package's own tree, extracted, serves too. Nothing is installed on
# this machine (dpkg -x only).
set -euo pipefail
build=${ISS_BUILD_DIR:?ISS_BUILD_DIR is the build dir}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

serve_and_check() {  # $1: an imagesearchd that was not told where the models are
  local port_file="$tmp/port.$RANDOM"
  "$1" --data-dir "$tmp/data.$RANDOM" --listen 127.0.0.1:0 --port-file "$port_file" \
    --auth-enabled false >"$tmp/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do [ -s "$port_file" ] && break; sleep 0.1; done
  [ -s "$port_file" ] || { echo "$1 did not start:"; cat "$tmp/log"; exit 1; }
  local base="http://127.0.0.1:$(cat "$port_file")"
  curl -sf "$base/health" >/dev/null
  out=$(curl -s -X POST "$base/v1/p1/service" -H 'Content-Type: application/json' \
    -d '{"name":"pkg","model":"common-search"}')
  echo "$out" | grep -q '"instanceName":"pkg"' || { echo "create failed: $out"; cat "$tmp/log"; exit 1; }
  kill "$pid"; wait "$pid" || true; pid=
}

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
[ -f "$tmp/prefix/share/imagesearch/models/common-search.onnx" ]
"$tmp/prefix/bin/imagesearchd" --version | grep -q "^imagesearchd "
"$tmp/prefix/bin/imagesearch" --version | grep -q "^imagesearch "
serve_and_check "$tmp/prefix/bin/imagesearchd"

(cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1) || {
  cat "$tmp/cpack.log"; exit 1; }
deb=$(ls "$tmp"/pkg/imagesearch_*.deb)
dpkg-deb -c "$deb" >"$tmp/contents"
for f in ./usr/bin/imagesearchd ./usr/bin/imagesearch ./usr/share/imagesearch/models/common-search.onnx \
         ./usr/share/imagesearch/models/common-search.toml ./lib/systemd/system/imagesearchd.service \
         ./etc/imagesearch/imagesearchd.toml ./usr/share/doc/imagesearch/README.md; do
  grep -q " $f\$" "$tmp/contents" || { echo "the .deb lacks $f"; cat "$tmp/contents"; exit 1; }
done
dpkg-deb -f "$deb" Depends | grep -q "libcurl4" || { echo "no shlibs Depends"; dpkg-deb -I "$deb"; exit 1; }
dpkg-deb -e "$deb" "$tmp/control"
[ -x "$tmp/control/postinst" ] && grep -q "^/etc/imagesearch/imagesearchd.toml$" "$tmp/control/conffiles"
dpkg-deb -x "$deb" "$tmp/root"
if file "$tmp/root/usr/bin/imagesearchd" | grep -q "not stripped"; then echo "not stripped"; exit 1; fi
# The packaged configuration loads (unknown keys would be refused).
"$tmp/root/usr/bin/imagesearchd" --config "$tmp/root/etc/imagesearch/imagesearchd.toml" --help >/dev/null
serve_and_check "$tmp/root/usr/bin/imagesearchd"
if command -v systemd-analyze >/dev/null && systemd-analyze --version >/dev/null 2>&1; then
  # `verify` needs the ExecStart binary where the unit says: check a copy pointing at the tree.
  sed "s|/usr/bin/imagesearchd|$tmp/root/usr/bin/imagesearchd|" \
    "$tmp/root/lib/systemd/system/imagesearchd.service" >"$tmp/imagesearchd.service"
  if ! systemd-analyze verify "$tmp/imagesearchd.service" >"$tmp/verify.log" 2>&1; then
    grep -v "User=\|Failed to create\|Cannot add dependency\|No such file" "$tmp/verify.log" | grep -q . && {
      cat "$tmp/verify.log"; exit 1; }
  fi
fi
echo "package_test: ok ($(du -h "$deb" | cut -f1) .deb)"
