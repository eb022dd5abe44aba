#include "digitnet/metrics.hpp"

#include <algorithm>
#include <numeric>

namespace digitnet {

int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

Predictions predict_dataset(Network<float>& net, const Normalizer& norm, const Dataset& data, int batch) {
  const int classes = net.arch().classes();
  Predictions p;
  p.label.resize(data.size());
  p.probs.resize(static_cast<int>(data.size()), classes);
  Tensor<float> X;
  std::vector<std::size_t> idx;
  for (std::size_t start = 0; start < data.size(); start += batch) {
    const int n = static_cast<int>(std::min<std::size_t>(batch, data.size() - start));
    idx.resize(n);
    std::iota(idx.begin(), idx.end(), start);
    X.resize(n, data.features());
    norm.gather(data, idx, X.view());
    const Matrix<const float> out = net.forward(X.view());
    for (int r = 0; r < n; ++r) {
      std::copy(out.row(r), out.row(r) + classes, p.probs.view().row(static_cast<int>(start) + r));
      p.label[start + r] = argmax({out.row(r), static_cast<std::size_t>(classes)});
    }
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
