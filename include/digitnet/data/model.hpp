#pragma once
// Model files: an .npz that NumPy reads.
//   w1, b1, w2, b2, ...   float32, w shaped (fan_out, fan_in) like the seeds
//   config                JSON text as a 0-d unicode array:
//                         json.loads(np.load(p)["config"].item())
//   input_mean, input_std float32 (features,), only for zscore normalisation
// config holds format_version; a newer version is refused with a clear message.
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"

namespace digitnet {

constexpr int kModelFormatVersion = 1;

struct Model {
  Network<float> net;
  Normalizer norm;
  int height = 0, width = 0;  // input image shape (28x28, 8x8, ...)
  nlohmann::json config;      // everything stored under "config"
};

// `extra` is merged into config (dataset, training settings, history, results).
void save_model(const std::string& path, const Network<float>& net, const Normalizer& norm, int height, int width,
                const nlohmann::json& extra);
Model load_model(const std::string& path);

// One image (values in [0, 1], light on dark, the model's input size) to the output
// probabilities: normalised as in training, then the forward pass.
std::vector<float> predict_one(Model& model, std::span<const float> x01);

}  // namespace digitnet
