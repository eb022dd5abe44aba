#!/usr/bin/env bash
# A newcomer's first hour, checked on a fresh clone of this repository (its committed HEAD):
#   1. scripts/run-default.sh with 2 epochs, installing into a temporary prefix (as it installs
#      into /usr/local for a user): the build, the install, the fetch, the training run;
#   2. every command of README.md, docs/cli.md and docs/data.md as written, with `digitnet` (and
#      digitnet-mpirun, and the Python package) from that prefix on PATH
#      (tests/docs/doc_commands_test.py; training cut to 2 epochs);
#   3. examples/consumer built against the installed package: with CMake's find_package
#      (digitnet::core alone, then every component) and with pkg-config.
# scripts/test.sh runs it (CI). Minutes: the fresh clone builds from nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
stage() { echo "check-install: $1 (at ${SECONDS}s)"; }

stage "a fresh clone, then scripts/run-default.sh (EPOCHS=2, PREFIX=$prefix)"
git clone -q . "$tmp/clone"
if ! (cd "$tmp/clone" && EPOCHS=2 PREFIX="$prefix" bash scripts/run-default.sh >"$tmp/run-default.log" 2>&1); then
  cat "$tmp/run-default.log" >&2
  echo "check-install: scripts/run-default.sh failed on a fresh clone (above)" >&2
  exit 1
fi
grep -q '^test accuracy' "$tmp/run-default.log" || { cat "$tmp/run-default.log"; exit 1; }
grep -q '^Next, try:' "$tmp/run-default.log" || { echo "check-install: no commands to try" >&2; exit 1; }
for stage in packages configure build install fetch train; do
  grep -q "^== $stage" "$tmp/run-default.log" || { echo "check-install: run-default printed no '$stage' stage" >&2; exit 1; }
done
[[ -x "$prefix/bin/digitnet" && -x "$prefix/bin/digitnet-mpirun" ]] || { echo "check-install: no digitnet in $prefix/bin" >&2; exit 1; }

stage "the README's commands as written, with digitnet from PATH"
python_dir=$(find "$prefix/lib" -maxdepth 3 -type d -name dist-packages | head -1)
status=0
PATH="$prefix/bin:$PATH" PYTHONPATH="$python_dir" \
  /usr/bin/python3 "$tmp/clone/tests/docs/doc_commands_test.py" "$tmp/clone" --installed || status=$?
if ((status == 77)); then
  echo "check-install: the README's commands were not run: they need mnist-10k, which could not be fetched"
elif ((status != 0)); then
  echo "check-install: a README command failed with digitnet from PATH (above)" >&2
  exit 1
fi

stage "a project built against the installed package"
cmake -S examples/consumer -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DWITH_DATASETS=ON >/dev/null
cmake --build "$tmp/cmake" >/dev/null
"$tmp/cmake/train_patterns"
"$tmp/cmake/list_datasets" >/dev/null
if [[ "$(ldd "$tmp/cmake/train_patterns")" =~ libcurl|libzip|libssl|libarchive ]]; then
  echo "check-install: a digitnet::core program links a fetch or data library" >&2
  exit 1
fi
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046  # pkg-config prints separate flags
g++ -O2 examples/consumer/main.cpp -o "$tmp/pc" $(pkg-config --cflags --libs digitnet-core)
"$tmp/pc" >/dev/null
echo "check-install: run-default on a fresh clone, the README's commands from PATH, find_package(digitnet) and pkg-config all work (${SECONDS}s)"
