#pragma once
// Predictions for every row of a dataset, for the float and the int8 networks alike: blocks of
// `batch` rows, each through the whole network while it is in cache; with many blocks each core
// takes a contiguous share with its own copy of the network (its own buffers). The rows are
// independent, so the results are those of one core.
#include <algorithm>
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
  const auto run = [&](Model& model, std::size_t b0, std::size_t b1) {
    Tensor<float> scratch;
    std::vector<std::size_t> idx;
    for (std::size_t b = b0; b < b1; ++b) {
      const std::size_t start = b * batch;
      const int rows = static_cast<int>(std::min<std::size_t>(batch, n - start));
      idx.resize(rows);
      std::iota(idx.begin(), idx.end(), start);
      const Matrix<const float> out = forward(model, std::span<const std::size_t>(idx), scratch);
      for (int r = 0; r < rows; ++r) {
        std::copy(out.row(r), out.row(r) + classes, p.probs.view().row(static_cast<int>(start) + r));
        p.label[start + r] = argmax({out.row(r), static_cast<std::size_t>(classes)});
      }
    }
  };
  const int tasks = cores_for(double(n) * per_row, static_cast<long>(blocks / 2));  // two blocks or more each
  if (tasks <= 1) {
    run(net, 0, blocks);
  } else {
    std::vector<Model> copies(tasks - 1, net);
    run_parallel(tasks,
                 [&](int t) { run(t == 0 ? net : copies[t - 1], blocks * t / tasks, blocks * (t + 1) / tasks); });
  }
  return p;
}

}  // namespace digitnet
