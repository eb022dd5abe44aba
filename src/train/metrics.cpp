#include "digitnet/train/metrics.hpp"

#include <algorithm>
#include <numeric>

#include "predict_blocks.hpp"

namespace digitnet {

int argmax(std::span<const float> v) { return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin()); }

Predictions predict_dataset(Network<float>& net, const Normalizer& norm, const Dataset& data, int batch) {
  double per_row = 0;  // multiply-adds of one row's forward pass
  for (const auto& layer : net.layers) per_row += double(layer.in()) * layer.out();
  // each block: bytes to floats, then every layer
  return predict_blocks(net, data.size(), net.arch().classes(), batch, per_row,
                        [&](Network<float>& model, std::span<const std::size_t> idx, Tensor<float>& X) {
                          X.resize(static_cast<int>(idx.size()), data.features());
                          norm.gather(data, idx, X.view());
                          return model.forward(X.view());
                        });
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
