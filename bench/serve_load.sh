#!/usr/bin/env bash
# One command for the server's load benchmark: installs wrk (Debian), builds the release
# binary, and runs bench/serve_load.py against `digitnet serve` (about two minutes).
#   bash bench/serve_load.sh                     10-second wrk runs
#   bash bench/serve_load.sh --seconds 3         shorter runs
# Run it on a quiet machine for figures: the client (wrk, the slow and hostile clients) runs on
# the same cores as the server. docs/serve.md has the figures and how to read them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! command -v wrk >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null
fi
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target digitnet_cli >/dev/null
ulimit -n "$(ulimit -Hn)"
/usr/bin/python3 bench/serve_load.py build/digitnet "$@"
