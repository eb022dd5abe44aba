#!/usr/bin/env bash
# Same-run A/B of this checkout against another commit: builds REV's digitnet_bench once (in
# build-ab/REV, a git worktree of it) and this tree's, then alternates the two run by run
# (bench/ab.py), printing each row's after/before.
#   bash bench/ab.sh REV [ROUNDS [THREADS]]     e.g. bash bench/ab.sh 8b64d10 6 2
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bash bench/ab.sh REV [ROUNDS [THREADS]]}
rounds=${2:-6}
threads=${3:-0}
sha=$(git rev-parse --verify "$rev^{commit}")
dir=build-ab/${sha:0:12}
if [[ ! -x $dir/build/digitnet_bench ]]; then
  echo "ab: building $rev (${sha:0:12}) in $dir"
  [[ -d $dir ]] || git worktree add --detach "$dir" "$sha" >/dev/null
  cmake -S "$dir" -B "$dir/build" -DDIGITNET_TESTS=OFF -DDIGITNET_PYTHON=OFF >/dev/null
  cmake --build "$dir/build" -j"$(nproc)" --target digitnet_bench >/dev/null
fi
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" --target digitnet_bench >/dev/null
echo "ab: before = $rev, after = this checkout ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', with changes')); $rounds rounds, threads $threads"
/usr/bin/python3 bench/ab.py "$dir/build" build "$rounds" "$threads"
