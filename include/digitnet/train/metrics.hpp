#pragma once
// Predictions over a dataset and the usual classification metrics.
#include <cstdint>
#include <span>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/core/matrix.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"

namespace digitnet {

struct Predictions {
  std::vector<int> label;  // argmax per example
  Tensor<float> probs;     // (N, classes): softmax (ce) or sigmoid (mse) outputs
};

// Forward passes over blocks of `batch` rows; with several blocks, the cores share them out.
Predictions predict_dataset(Network<float>& net, const Normalizer& norm, const Dataset& data, int batch = 128);

struct Metrics {
  double accuracy = 0;
  std::vector<std::vector<std::size_t>> confusion;  // [true][predicted]
  std::vector<double> precision, recall;            // per class; 0 where undefined
  std::vector<std::size_t> support;                 // examples per true class
};

Metrics compute_metrics(std::span<const std::uint8_t> truth, std::span<const int> predicted, int classes);

int argmax(std::span<const float> values);

}  // namespace digitnet
