#pragma once
// --quantize float32|int8 on eval, predict and serve (train/quantize.hpp): the precision a
// model's predictions are computed in.
#include <optional>
#include <span>
#include <vector>

#include <CLI/CLI.hpp>

#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/quantize.hpp"

namespace digitnet::cli {

void add_quantize_option(CLI::App* cmd, Precision& precision);

// A model's predictions at a precision: float32 runs the model's network, int8 a quantized
// copy of it made once.
class Predictor {
 public:
  Predictor(Model& model, Precision precision);
  Predictions dataset(const Dataset& data);
  std::vector<float> one(std::span<const float> x01);
  // An image prepared for the model (data/image.hpp): as eval would predict its example.
  std::vector<float> input(const ModelInput& in);

 private:
  Model& model_;
  std::optional<QuantizedNetwork> int8_;
};

}  // namespace digitnet::cli
