#!/usr/bin/env bash
# Installs the build in BUILD_DIR (default build) into a temporary prefix, then builds and runs
# examples/consumer against it: with CMake's find_package (digitnet::core alone, then every
# component) and with pkg-config.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S examples/consumer -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DWITH_DATASETS=ON >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/train_patterns"
"$tmp/cmake/list_datasets" >/dev/null
if ldd "$tmp/cmake/train_patterns" | grep -qE 'libcurl|libzip|libssl|libarchive'; then
  echo "check-install: a digitnet::core program links a fetch or data library" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
# shellcheck disable=SC2046  # pkg-config prints separate flags
g++ -O2 examples/consumer/main.cpp -o "$tmp/pc" $(pkg-config --cflags --libs digitnet-core)
"$tmp/pc" >/dev/null
echo "check-install: find_package(digitnet) and pkg-config both work"
