#!/usr/bin/env bash
# ctest entry for the browser test: trains a small model on real MNIST digits (mnist-10k),
# then draws on the served page in headless Chromium. Exit 77 = skipped (no Chromium,
# no playwright-core, or mnist-10k cannot be fetched here).
set -uo pipefail
digitnet=$1
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$digitnet" data fetch mnist-10k >/dev/null 2>"$tmp/err"; then
  echo "browser test skipped: $(tail -1 "$tmp/err")"
  exit 77
fi
"$digitnet" train --data mnist-10k --preset relu-128-64 --epochs 15 --save "$tmp/model.npz" >/dev/null || exit 1
exec node "$dir/draw_test.mjs" "$digitnet" "$tmp/model.npz" "${SCREENSHOT:-$tmp/screenshot.png}"
