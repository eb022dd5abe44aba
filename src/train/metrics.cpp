#include "digitnet/train/metrics.hpp"

#include <algorithm>
#include <numeric>

#include "kernels/split.hpp"

namespace digitnet {

int argmax(std::span<const float> v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

Predictions predict_dataset(Network<float>& net, const Normalizer& norm, const Dataset& data, int batch) {
  const int classes = net.arch().classes();
  const std::size_t n = data.size();
  Predictions p;
  p.label.resize(n);
  p.probs.resize(static_cast<int>(n), classes);
  // Blocks [b0, b1) of `batch` rows: bytes to floats, then every layer, while the block is in cache.
  const std::size_t blocks = (n + batch - 1) / batch;
  const auto run = [&](Network<float>& model, std::size_t b0, std::size_t b1) {
    Tensor<float> X;
    std::vector<std::size_t> idx;
    for (std::size_t b = b0; b < b1; ++b) {
      const std::size_t start = b * batch;
      const int rows = static_cast<int>(std::min<std::size_t>(batch, n - start));
      idx.resize(rows);
      std::iota(idx.begin(), idx.end(), start);
      X.resize(rows, data.features());
      norm.gather(data, idx, X.view());
      const Matrix<const float> out = model.forward(X.view());
      for (int r = 0; r < rows; ++r) {
        std::copy(out.row(r), out.row(r) + classes, p.probs.view().row(static_cast<int>(start) + r));
        p.label[start + r] = argmax({out.row(r), static_cast<std::size_t>(classes)});
      }
    }
  };
  // Many blocks: each core takes a contiguous share with its own copy of the network (its own
  // buffers); the rows are independent, so the results are those of one core.
  double per_row = 0;  // multiply-adds of one row's forward pass
  for (const auto& layer : net.layers) per_row += double(layer.in()) * layer.out();
  const int tasks = cores_for(double(n) * per_row, static_cast<long>(blocks / 2));  // two blocks or more each
  if (tasks <= 1) {
    run(net, 0, blocks);
  } else {
    std::vector<Network<float>> copies(tasks - 1, net);
    run_parallel(tasks,
                 [&](int t) { run(t == 0 ? net : copies[t - 1], blocks * t / tasks, blocks * (t + 1) / tasks); });
  }
  return p;
}

Metrics compute_metrics(std::span<const std::uint8_t> truth, std::span<const int> predicted, int classes) {
  Metrics m;
  m.confusion.assign(classes, std::vector<std::size_t>(classes, 0));
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    ++m.confusion[truth[i]][predicted[i]];
    correct += truth[i] == predicted[i];
  }
  m.accuracy = truth.empty() ? 0.0 : double(correct) / double(truth.size());
  for (int c = 0; c < classes; ++c) {
    std::size_t predicted_c = 0, true_c = 0;
    for (int k = 0; k < classes; ++k) {
      predicted_c += m.confusion[k][c];
      true_c += m.confusion[c][k];
    }
    m.precision.push_back(predicted_c ? double(m.confusion[c][c]) / double(predicted_c) : 0.0);
    m.recall.push_back(true_c ? double(m.confusion[c][c]) / double(true_c) : 0.0);
    m.support.push_back(true_c);
  }
  return m;
}

}  // namespace digitnet
