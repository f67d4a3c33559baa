#!/usr/bin/env bash
# Installs those of the named Debian packages that are not installed yet (apt-get update
# first, then one apt-get install; sudo when not root). Nothing to do: no apt call at all.
# Usage: scripts/ensure-packages.sh LABEL PKG...   (LABEL prefixes the log line)
set -euo pipefail
label=${1:?usage: scripts/ensure-packages.sh LABEL PKG...}
shift
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "$label: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
