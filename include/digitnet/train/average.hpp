#pragma once
// An exponential moving average of the weights (the recipe's ema; docs/math.md), as PyTorch's
// torch.optim.swa_utils.AveragedModel keeps it with an exponential avg_fn: the first update
// copies the weights, each later one moves the average toward them:
//   avg <- decay avg + (1 - decay) p
// It is what a run evaluates, and what it ends with.
#include <span>
#include <vector>

namespace digitnet {

template <class T>
void average_update(std::vector<T>& avg, std::span<const T> p, double decay) {
  if (avg.empty()) {
    avg.assign(p.begin(), p.end());
    return;
  }
  const T d = T(decay), rest = T(1) - T(decay);
  for (std::size_t i = 0; i < p.size(); ++i) avg[i] = d * avg[i] + rest * p[i];
}

}  // namespace digitnet
