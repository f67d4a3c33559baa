#!/usr/bin/env bash
# Installs every Debian 12 package the build, the server and the tests need. Idempotent.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl clang-format
  libfaiss-dev libopenblas-dev liblapack-dev      # vector index (+ fast BLAS)
  zlib1g-dev                                      # CRC-32 of index snapshots
  libopencv-dev                                   # DNN (ONNX), imgcodecs, imgproc
  libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev  # scaled JPEG decode, PNG
  libwebp-dev libtiff-dev libgif-dev libheif-dev  # WebP, TIFF, GIF, HEIC/AVIF photos
  librocksdb-dev                                  # durable store
  libboost-dev libboost-system-dev                # Beast/Asio HTTP server
  nlohmann-json3-dev libabsl-dev libspdlog-dev libcli11-dev libtomlplusplus-dev
  libcurl4-openssl-dev libssl-dev libargon2-dev libroaring-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3-onnx python3-numpy python3-opencv python3-pytest python3-requests  # model converter, tests
  python3-pil libheif-examples                    # tests: WebP/TIFF/GIF and HEIC/AVIF encoders
  python3-jsonschema openapi-specification        # tests: docs/openapi.json (OpenAPI 3.0 meta-schema)
  nginx-light wrk                                 # download tests; load benchmarks
  chromium                                        # the web console test (headless)
  ceph-mon ceph-osd radosgw ceph-common           # object-storage tests: a single-node RGW
                                                  # (tests/testing/rgw; no ceph-mgr needed)
  clang-14 libclang-rt-14-dev                     # libFuzzer targets (fuzz/, scripts/fuzz.sh)
  ukui-wallpapers gnome-backgrounds lomiri-wallpapers-20.04  # photos the default model's
                                                  # calibration is learned from
                                                  # (scripts/learn-whitening.sh)
)
# Node.js + npm fetch the model package and run the AK/SK signer tests; the machine image
# usually has them already (not from Debian), so only install Debian's when absent.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
bash "$(dirname "$0")/ensure-packages.sh" install-deps "${PKGS[@]}"
