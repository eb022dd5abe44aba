#!/usr/bin/env bash
# One command for docs/scaling.md: builds digitnet with MPI (in build/, as scripts/test.sh does) and runs
# bench/scaling.py (one epoch per configuration on Fashion-MNIST; about 5 minutes). Extra
# arguments go to scaling.py:
#   bash bench/scaling.sh                      measure, print the tables and the model
#   bash bench/scaling.sh --emulate            also two hosts emulated with network namespaces (root)
#   bash bench/scaling.sh --save results.json  keep the measurements (--model results.json reprints)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --mpi
cmake -S . -B build -DDIGITNET_MPI=ON >/dev/null
cmake --build build -j"$(nproc)" --target digitnet_cli allreduce_bench >/dev/null
/usr/bin/python3 bench/scaling.py "$@"
