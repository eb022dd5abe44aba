#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ with clang and runs each for N seconds (default 20)
# on its seed corpus. A crash, leak or sanitizer report fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DDIGITNET_TESTS=OFF -DDIGITNET_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_idx fuzz_csv fuzz_npz fuzz_image fuzz_checkpoint \
  fuzz_pixels_json fuzz_sweep_table >/dev/null
for target in idx csv npz image checkpoint pixels_json sweep_table; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$target"/* "$work"/
  echo "fuzz_$target: ${seconds}s"
  ./build-fuzz/fuzz_"$target" -max_total_time="$seconds" -max_len=200000 -rss_limit_mb=2048 \
    -print_final_stats=0 "$work" 2>build-fuzz/fuzz_"$target".log ||
    { tail -40 build-fuzz/fuzz_"$target".log; exit 1; }
  grep -E '^(#[0-9]+ +DONE|Done)' build-fuzz/fuzz_"$target".log | tail -1 || true
  rm -rf "$work"
done
echo "fuzz: 7 passed, 0 failed"
