#!/usr/bin/env bash
# The README's accuracy table: reruns every row (fixed seeds: each preset's own, or --seed) and
# rewrites the table between <!-- accuracy:begin --> and <!-- accuracy:end --> in README.md, with
# this machine and the date. Training is deterministic (the same seed, data and flags give the
# same bits for any thread count), so a rerun gives the same accuracies; the seconds vary with
# the machine's load. About 3 minutes on 2 cores.
#
#   bash bench/readme-numbers.sh            rerun every row and rewrite README.md's table
#   bash bench/readme-numbers.sh --check    rerun and compare with README.md's table instead
#                                           (fails if an accuracy moved by more than 0.3 points)
#   bash bench/readme-numbers.sh --first-run
#                                           time `bash scripts/run-default.sh` on a fresh clone of
#                                           this repository (empty dataset cache, installing into a
#                                           temporary prefix) and rewrite README.md's
#                                           <!-- first-run:begin --> line (minutes: a whole build)
#   DIGITNET=path/to/digitnet               the command to run (default: build/digitnet, else PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

# One row a line: preset | what else the row runs (shown after the name) | data (as the table
# says it) | digitnet train's arguments. A new preset is one more line here.
rows=(
  "relu-128-64|, 20 epochs: scripts/run-default.sh's run|mnist-10k, 2,000 test digits|--data mnist-10k --preset relu-128-64 --epochs 20"
  "relu-128-64|, 1 epoch|Fashion-MNIST|--data fashion-mnist --preset relu-128-64 --epochs 1"
  "digits-relu-32||8x8 digits, 20% held out|--data digits --preset digits-relu-32"
  "digits-softmax||8x8 digits, 20% held out|--data digits --preset digits-softmax"
  "sigmoid-mse-20x3||Fashion-MNIST|--data fashion-mnist --preset sigmoid-mse-20x3"
  "relu-10-dev||Fashion-MNIST, dev 1000|--data fashion-mnist --preset relu-10-dev"
  "relu-128-fullbatch||Fashion-MNIST, random 20%|--data fashion-mnist --preset relu-128-fullbatch"
  "best-digits||8x8 digits, 20% held out|--data digits --preset best-digits"
  "best-mnist-10k||mnist-10k, 2,000 test digits|--data mnist-10k --preset best-mnist-10k"
  "best-fashion-mnist||Fashion-MNIST|--data fashion-mnist --preset best-fashion-mnist"
)

mode=${1:-write}
digitnet=${DIGITNET:-}
if [[ -z "$digitnet" ]]; then
  if [[ -x build/digitnet ]]; then digitnet=build/digitnet; else digitnet=$(command -v digitnet); fi
fi
machine="$(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
when=$(date -u '+%Y-%m-%d %H:%M UTC')

# Writes BODY (lines) between <!-- NAME:begin --> and <!-- NAME:end --> in README.md.
replace_block() {  # NAME BODY
  python3 -c '
import re, sys
name, body = sys.argv[1], sys.argv[2]
text = open("README.md", encoding="utf-8").read()
pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
if not pattern.search(text):
    sys.exit(f"readme-numbers: README.md has no <!-- {name}:begin --> ... <!-- {name}:end --> block")
open("README.md", "w", encoding="utf-8").write(pattern.sub(lambda m: m.group(1) + body + m.group(2), text))
' "$1" "$2"
}

if [[ "$mode" == --first-run ]]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  git clone -q . "$tmp/clone"
  start=$SECONDS
  (cd "$tmp/clone" && DIGITNET_DATA="$tmp/data" PREFIX="$tmp/prefix" bash scripts/run-default.sh) | tee "$tmp/out"
  took=$((SECONDS - start))
  accuracy=$(sed -n 's/^test accuracy \([0-9.]*%\).*/\1/p' "$tmp/out" | tail -1)
  line="Measured by \`bash bench/readme-numbers.sh --first-run\` on $machine, $when: \`bash scripts/run-default.sh\` on a fresh clone took $((took / 60)) min $((took % 60)) s (the Debian packages were installed already; mnist-10k was fetched; the build is most of it) and ended with test accuracy $accuracy."
  echo "$line"
  replace_block first-run "$line"$'\n'
  exit 0
fi

table="| preset | data | test accuracy | seconds |
|---|---|---|---|"
failed=0
for row in "${rows[@]}"; do
  IFS='|' read -r preset note data args <<<"$row"
  name="\`$preset\`$note"
  start=$(date +%s.%N)
  # shellcheck disable=SC2086  # the arguments are words
  result=$("$digitnet" train $args --json | tail -1)
  seconds=$(python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.1f}")' "$start" "$(date +%s.%N)")
  accuracy=$(python3 -c 'import json,sys; print("%.2f" % (100 * json.loads(sys.argv[1])["test_accuracy"]))' "$result")
  echo "$name on $data: $accuracy% in $seconds s" >&2
  table+=$'\n'"| $name | $data | $accuracy% | $seconds |"
  if [[ "$mode" == --check ]]; then
    was=$(grep -F "| $name | $data |" README.md | sed 's/.*| \([0-9.]*\)% |.*/\1/' || true)
    if [[ -z "$was" ]]; then
      echo "readme-numbers: README.md's table has no row for $name on $data" >&2
      failed=1
    elif ! python3 -c 'import sys; sys.exit(abs(float(sys.argv[1]) - float(sys.argv[2])) > 0.3)' "$was" "$accuracy"; then
      echo "readme-numbers: $name on $data: $accuracy% now, README.md says $was%" >&2
      failed=1
    fi
  fi
done
if [[ "$mode" == --check ]]; then
  ((failed == 0)) && echo "readme-numbers: every row agrees with README.md within 0.3 points"
  exit "$failed"
fi
replace_block accuracy "Measured with \`bash bench/readme-numbers.sh\` on $machine, $when (the seconds include loading the data and vary with the load of the machine):"$'\n\n'"$table"$'\n'
echo "readme-numbers: README.md's table rewritten" >&2
