#!/usr/bin/env bash
# Time to accuracy (docs/accuracy.md): installs PyTorch and scikit-learn from Debian, builds the
# CLI and the Python module, and runs bench/accuracy.py. Extra arguments go to accuracy.py:
#   bash bench/accuracy.sh                    every dataset, printed (about 15 minutes)
#   bash bench/accuracy.sh --write            also rewrites docs/accuracy.md, docs/accuracy.svg
#   bash bench/accuracy.sh --quick --only digits   seconds: that every part runs (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [[ " $* " != *" --quick "* ]] && ! dpkg -s python3-torch >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-torch >/dev/null
fi
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target digitnet_cli digitnet_python >/dev/null
/usr/bin/python3 bench/accuracy.py "$@"
