#!/usr/bin/env bash
# Installs what digitnet needs from Debian 12's packages; does nothing if all are present.
# Build: compiler, CMake, libraries, pybind11 (the Python package). Data: Fashion-MNIST and
# scikit-learn's 8x8 digits. Tests: GoogleTest, NumPy (interop test), clang (fuzzers), pytest,
# ONNX and pandas (the Python package's tests), venv, setuptools and wheel (`pip install .` into a
# venv), FANN (a peer in the benchmark smoke run), Open MPI (the MPI build's tests).
set -euo pipefail
packages=(
  g++ cmake make pkg-config
  libfmt-dev nlohmann-json3-dev libcli11-dev zlib1g-dev libzip-dev libstb-dev libhwy-dev
  libcurl4-openssl-dev libssl-dev libarchive-dev libcpp-httplib-dev libmicrohttpd-dev librsvg2-dev
  libgtest-dev pybind11-dev python3-dev
  dataset-fashion-mnist python3-sklearn python3-numpy
)
# MPI (data-parallel training: DIGITNET_MPI=ON, which scripts/test.sh builds and tests; bench/scaling.sh)
if [[ "${1:-}" == "--test" || "${1:-}" == "--mpi" ]]; then
  packages+=(openmpi-bin libopenmpi-dev)
fi
if [[ "${1:-}" == "--test" ]]; then
  # fuzzers; the browser test (Chromium driven by Playwright from npm)
  packages+=(clang libclang-rt-14-dev clang-format clang-tidy chromium python3-pytest python3-onnx python3-pandas
             python3-venv python3-setuptools python3-wheel libfann-dev)
  command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
