#!/usr/bin/env bash
# The MPI build (-DDIGITNET_MPI=ON, in build-mpi/) and its tests: digitnet under mpirun -np 2
# and -np 3 on this machine (loopback only; about a minute). scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --mpi
jobs=$(nproc)
cmake -S . -B build-mpi -DDIGITNET_MPI=ON -DDIGITNET_TESTS=ON -DDIGITNET_WERROR=ON >/dev/null
cmake --build build-mpi -j"$jobs" --target digitnet_cli mpi_tests >/dev/null
# the ranks are processes: one test at a time, so that -np 3 runs on an otherwise idle machine
(cd build-mpi && ctest -L mpi --output-on-failure)
