#!/usr/bin/env bash
# One command for the Python benchmark (bench/python_bench.py): digitnet.MLPClassifier.fit
# against scikit-learn's MLPClassifier, PyTorch and the CLI. Installs the peers from Debian,
# builds digitnet and its Python module, runs. Extra arguments go to python_bench.py:
#   bash bench/python.sh                 5 epochs each, 3 alternating CLI / Python runs
#   bash bench/python.sh --write         also writes bench/python_results.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
missing=()
for p in python3-torch libopenblas0-pthread; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target digitnet digitnet_python >/dev/null
/usr/bin/python3 bench/python_bench.py "$@"
