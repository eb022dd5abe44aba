#!/usr/bin/env bash
# The trials behind the best-* presets (docs/presets.md, "How the best-* recipes were found"):
# each line is one run of digitnet train, printed with its final test accuracy. Training is
# deterministic, so a rerun prints the numbers docs/presets.md quotes. Each trial runs on one
# thread (the bits do not depend on it); the Fashion and mnist-10k trials take minutes each.
#   bash bench/preset_trials.sh [digits|mnist-10k|fashion-mnist ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."
digitnet=${DIGITNET:-build/digitnet}
old="--data digits --optimizer adamw --lr 0.001 --weight-decay 0.01 --schedule cosine --split random:0.2 --batch 32 --normalize zscore"
D="--preset best-digits"
L="--layers 64,256,128,10 --dropout 0.2"
trials_digits=(  # each on seeds 1-5: the mean and range docs/presets.md gives
  "earlier recipe (z-scored, 150 epochs)|$old $L --epochs 150"
  "batch norm alone|$old $L --epochs 150 --batch-norm on"
  "weight average|$old $L --epochs 150 --ema 0.99"
  "wider 64-1024-512-10|$old --dropout 0.2 --epochs 100 --layers 64,1024,512,10"
  "dropout 0.3, 300 epochs|$old --layers 64,256,128,10 --epochs 300 --dropout 0.3"
  "elastic, 300 epochs|$old $L --epochs 300 --augment elastic"
  "rotate 8 + zoom 8% on [0, 1], 300 epochs|$D --batch-norm off --label-smoothing 0"
  "  + label smoothing|$D --batch-norm off"
  "  + batch norm (best-digits)|$D"
)
M="--preset best-mnist-10k"
trials_mnist=(  # seed 1, or as given
  "earlier recipe|$M --batch-norm off --augment shift:2,rotate:8 --epochs 100"
  "batch norm, shift 2 rotate 10 zoom 10%, 100 epochs|$M --epochs 100"
  "  + weight average 0.999|$M --epochs 100 --ema 0.999"
  "  200 epochs (best-mnist-10k), seeds 1 2 3|$M"
  "  200 epochs + weight average|$M --ema 0.999"
  "stronger distortions, dropout 0.3, 100 epochs|$M --epochs 100 --augment shift:2,rotate:12,scale:0.12 --dropout 0.3"
  "  200 epochs|$M --augment shift:2,rotate:12,scale:0.12 --dropout 0.3"
  "elastic, 100 epochs|$M --epochs 100 --augment rotate:8,scale:0.08,elastic"
  "wider 784-2048-1024-10, 100 epochs|$M --epochs 100 --layers 784,2048,1024,10"
)
F="--preset best-fashion-mnist"
trials_fashion=(
  "earlier recipe (no batch norm, 40 epochs)|$F --batch-norm off --lr 0.001 --epochs 40"
  "batch norm, 40 epochs|$F --lr 0.001 --epochs 40"
  "  + weight average 0.999|$F --lr 0.001 --epochs 40 --ema 0.999"
  "  30 epochs|$F --lr 0.001 --epochs 30"
  "  20 epochs|$F --lr 0.001 --epochs 20"
  "  batch 256, lr 2e-3|$F --epochs 40 --batch 256"
  "  784-512-256-10|$F --lr 0.001 --epochs 40 --layers 784,512,256,10"
  "  27 epochs|$F --lr 0.001"
  "  27 epochs, lr 2e-3 (best-fashion-mnist)|$F"
)
accuracy() { "$digitnet" train "$@" --threads 1 --json | tail -1 | sed 's/.*"test_accuracy":\([0-9.]*\).*/\1/'; }
run() {  # name, seeds, flags
  local accs=()
  for s in $2; do accs+=("$(accuracy $3 --seed "$s")"); done
  printf '%-52s %s\n' "$1" "$(printf '%s\n' "${accs[@]}" | awk '{ v = 100 * $1; s += v; if (NR == 1 || v < lo) lo = v; if (NR == 1 || v > hi) hi = v; printf "%.2f%% ", v }
    END { if (NR > 1) printf "(mean %.2f%%, %.2f%% to %.2f%%)", s / NR, lo, hi }')"
}
for s in ${@:-digits mnist-10k fashion-mnist}; do
  echo "== $s"
  case $s in
    digits) for t in "${trials_digits[@]}"; do run "${t%%|*}" "1 2 3 4 5" "${t#*|}"; done ;;
    mnist-10k)
      for t in "${trials_mnist[@]}"; do
        seeds=1; [[ $t == *"seeds 1 2 3"* ]] && seeds="1 2 3"
        run "${t%%|*}" "$seeds" "${t#*|}"
      done ;;
    fashion-mnist) for t in "${trials_fashion[@]}"; do run "${t%%|*}" 1 "${t#*|}"; done ;;
    *) echo "preset_trials: '$s' is not digits, mnist-10k or fashion-mnist" >&2; exit 2 ;;
  esac
done
