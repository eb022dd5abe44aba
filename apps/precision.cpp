#include "precision.hpp"

namespace digitnet::cli {

void add_quantize_option(CLI::App* cmd, Precision& precision) {
  cmd->add_option_function<std::string>(
         "--quantize", [&precision](const std::string& v) { precision = parse_precision(v); },
         "Precision of the predictions: float32 (default) or int8 (int8 weights and activations; faster, "
         "within a few tenths of a point of float32's accuracy, docs/performance.md)")
      ->type_name("WORD");
}

Predictor::Predictor(Model& model, Precision precision) : model_(model) {
  if (precision == Precision::int8) int8_.emplace(model.net, model.norm);
}

Predictions Predictor::dataset(const Dataset& data) {
  return int8_ ? predict_dataset(*int8_, data) : predict_dataset(model_.net, model_.norm, data);
}

std::vector<float> Predictor::input(const ModelInput& in) {
  const Predictions p = dataset(in.example);
  return {p.probs.storage.begin(), p.probs.storage.end()};
}

std::vector<float> Predictor::one(std::span<const float> x01) {
  return int8_ ? predict_one(*int8_, x01) : predict_one(model_, x01);
}

}  // namespace digitnet::cli
