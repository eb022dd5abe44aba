#!/usr/bin/env bash
# Fresh Debian 12 to a tested build: install, build, run every test; then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzzer for a bounded time.
#   QUICK=1 bash scripts/test.sh     only the normal build's tests
#   FUZZ_SECONDS=N                   time per fuzz target (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { echo "== $1 (at ${SECONDS}s)"; }
bash scripts/install-deps.sh --test
jobs=$(nproc)

# playwright-core for the browser test (the browser itself is Debian's Chromium)
(cd tests/apps/browser && npm ci --no-audit --no-fund --loglevel=error) || echo "npm ci failed: the browser test will be skipped"
# ONNX Runtime's CPU build for the ONNX export test; its install script would fetch GPU parts
(cd tests/data/onnx && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) ||
  echo "npm ci failed: the ONNX Runtime comparison will be skipped"

stage "style (clang-format)"
bash scripts/lint.sh --format

stage "build and test (release, warnings are errors; with MPI: its tests run mpirun -np 2 and 3)"
cmake -S . -B build -DDIGITNET_TESTS=ON -DDIGITNET_WERROR=ON -DDIGITNET_MPI=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest -j"$jobs" --output-on-failure)
if [[ "${QUICK:-0}" == 1 ]]; then
  echo "all: $(cd build && ctest -N | awk '/Total Tests/ {print $3}') passed, 0 failed (release build only)"
  exit 0
fi

stage "a fresh clone as a newcomer meets it: run-default.sh, the README's commands with digitnet from PATH, a project built against the install"
bash scripts/check-install.sh

# (without MPI: the build for one machine is tested too; Open MPI under ASan reports its own leaks)
stage "build and test (-fsanitize=address,undefined)"
# -O1 -g1: a third of -O2 -g's compile time; reports still name the line
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DDIGITNET_SANITIZE=ON -DDIGITNET_WERROR=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1 ctest -j"$jobs" --output-on-failure)

stage "fuzz (${FUZZ_SECONDS:-20}s per target)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

stage "benchmark smoke run (seconds; speed is measured by bench/run.sh, not tested)"
bash bench/run.sh --smoke
bash bench/accuracy.sh --quick --only digits >/dev/null

# Everything above passed (set -e stops at the first failure): one closing line for CI.
tests=$(cd build && ctest -N | awk '/Total Tests/ {print $3}')
asan_tests=$(cd build-asan && ctest -N | awk '/Total Tests/ {print $3}')
echo "all: $((tests + asan_tests + 10)) passed in ${SECONDS}s, 0 failed (format, ctest twice, install, 7 fuzz targets, benchmark smoke)"
