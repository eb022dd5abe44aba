#!/usr/bin/env bash
# One command for the benchmark: installs what it compares against (NumPy with OpenBLAS,
# PyTorch, scikit-learn, FANN, from Debian; ONNX Runtime from npm), builds, and runs
# bench/run.py. Extra arguments go to run.py:
#   bash bench/run.sh                  5 epochs each, printed
#   bash bench/run.sh --runs 3         everything three times: medians and ranges
#   bash bench/run.sh --write          also writes bench/results.json, docs/performance.svg, the
#                                      table in docs/performance.md and the README's speed line
#   bash bench/run.sh --smoke          seconds-long check that every part runs (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ " $* " != *" --smoke "* ]]; then
  missing=()
  for p in python3-torch libopenblas0-pthread python3-threadpoolctl libfann-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if ((${#missing[@]})); then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi
# onnxruntime-node, as the ONNX tests install it (its install script only fetches GPU parts)
if command -v npm >/dev/null && [[ ! -d tests/data/onnx/node_modules/onnxruntime-node ]]; then
  (cd tests/data/onnx && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
    echo "bench: could not install onnxruntime-node; ONNX Runtime's row is left out"
fi
cmake -S . -B build >/dev/null
targets=(digitnet digitnet_bench)
grep -qx 'fann_seed' <(cmake --build build --target help 2>/dev/null | sed 's/^\.\.\. //') && targets+=(fann_seed)
cmake --build build -j"$(nproc)" --target "${targets[@]}" >/dev/null
/usr/bin/python3 bench/run.py "$@"
