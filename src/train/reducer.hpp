#pragma once
// How a training batch is divided into the shares this process computes, and how their
// gradients become the batch's gradient: alone, or summed with other processes
// (train/distributed.hpp). The trainer's loop is the same for all three:
//   do { reducer.begin(); for each share: step into the gradient buffer, reducer.add(); }
//   while (!reducer.finish());
// Private to the trainer, like src/kernels.
#include <cstddef>
#include <memory>
#include <vector>

#include "digitnet/nn/dense.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/trainer.hpp"

namespace digitnet {

// Rows [begin, end) of a batch, computed by one training step into the gradient buffer.
struct Share {
  std::size_t begin = 0, end = 0;
  bool accumulate = false;  // added to the gradient buffer, else written over it
};

// A batch's loss (its mean over the batch), right answers and stop votes.
struct BatchTotals {
  double loss = 0;
  std::size_t correct = 0;
  bool stop = false;
};

class Reducer {
 public:
  virtual ~Reducer() = default;
  virtual std::unique_ptr<Reducer> clone() const = 0;
  // The shares this process computes of a batch of `count` rows, in order.
  virtual std::vector<Share> shares(std::size_t count) const = 0;
  // A pass over a batch of `count` rows begins.
  virtual void begin(const DenseLayers<float>& /*layers*/, std::size_t /*count*/) {}
  // A share's step is done: its gradient is in layers.gradients(), its part of the batch-mean
  // loss is `loss`.
  virtual void add(DenseLayers<float>& /*layers*/, float /*loss*/) {}
  // The pass is over: the batch's gradient into layers.gradients(), and `totals` (this process's,
  // with its stop vote) summed over the processes. False: compute the batch again (its draws
  // are the same), then finish again.
  virtual bool finish(DenseLayers<float>& layers, BatchTotals& totals) = 0;
  // Whether this process takes every row alone (so a step may update the weights itself).
  virtual bool alone() const { return false; }
};

// Alone without a comm (and reduce ordered); else the recipe's reduce over sharing.comm.
std::unique_ptr<Reducer> make_reducer(const Recipe& recipe, const Sharing& sharing);

// Rows a step takes at most: their activations stay in cache. A batch of more is taken in
// chunks whose gradients add up to the whole batch's.
constexpr std::size_t kChunk = 256;

}  // namespace digitnet
