#!/usr/bin/env bash
# Fresh Debian 12 to a trained network: install, build, train the seed-000 network
# (784-128-64-10 ReLU) on Fashion-MNIST and print its test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DDIGITNET_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
./build/digitnet train --data /usr/share/datasets/fashion-mnist --preset relu-128-64 --epochs "${EPOCHS:-10}" \
  --save fashion-mnist.npz
