#pragma once
// Predictions for every row of a dataset, for the float and the int8 networks alike: blocks of
// `batch` rows, each through the whole network while it is in cache; with many blocks each core
// runs its own copy of the network (its own buffers) and takes the next block as it finishes one,
// so a core slowed by another process does fewer blocks instead of holding the others up. The
// rows are independent, so the results are those of one core.
#include <algorithm>
#include <atomic>
#include <numeric>
#include <span>
#include <vector>

#include "digitnet/core/matrix.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/train/metrics.hpp"
#include "kernels/split.hpp"

namespace digitnet {

// forward(model, idx, scratch) -> the block's outputs (rows of idx, classes wide); scratch is
// a buffer of the task's own. per_row: the multiply-adds of one row, to decide how many cores pay.
template <class Model, class Forward>
Predictions predict_blocks(Model& net, std::size_t n, int classes, int batch, double per_row, const Forward& forward) {
  Predictions p;
  p.label.resize(n);
  p.probs.resize(static_cast<int>(n), classes);
  const std::size_t blocks = (n + batch - 1) / batch;
  const auto block = [&](Model& model, std::size_t b, Tensor<float>& scratch, std::vector<std::size_t>& idx) {
    const std::size_t start = b * batch;
    const int rows = static_cast<int>(std::min<std::size_t>(batch, n - start));
    idx.resize(rows);
    std::iota(idx.begin(), idx.end(), start);
    const Matrix<const float> out = forward(model, std::span<const std::size_t>(idx), scratch);
    for (int r = 0; r < rows; ++r) {
      std::copy(out.row(r), out.row(r) + classes, p.probs.view().row(static_cast<int>(start) + r));
      p.label[start + r] = argmax({out.row(r), static_cast<std::size_t>(classes)});
    }
  };
  const double work = double(n) * per_row;
  const int tasks = cores_for(work, static_cast<long>(blocks / 2));  // two blocks or more each
  if (tasks <= 1) {
    Tensor<float> scratch;
    std::vector<std::size_t> idx;
    for (std::size_t b = 0; b < blocks; ++b) block(net, b, scratch, idx);
    return p;
  }
  std::vector<Model> copies(tasks - 1, net);
  std::atomic<std::size_t> next{0};
  run_parallel(tasks, [&](int t) {
    Tensor<float> scratch;
    std::vector<std::size_t> idx;
    for (std::size_t b; (b = next.fetch_add(1, std::memory_order_relaxed)) < blocks;)
      block(t == 0 ? net : copies[t - 1], b, scratch, idx);
  });
  return p;
}

}  // namespace digitnet
