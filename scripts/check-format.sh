#!/usr/bin/env bash
# Fails when a C++ file is not formatted as .clang-format says (clang-format 14).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h')
clang-format --dry-run --Werror $files
echo "check-format: $(echo "$files" | wc -l) files formatted"
