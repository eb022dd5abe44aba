#pragma once
// Model files: an .npz that NumPy reads.
//   w1, b1, w2, b2, ...   float32, w shaped (fan_out, fan_in) like the seeds
//   gamma1, beta1, mean1, var1, ...   float32 (fan_out,), batch normalization of each hidden
//                         layer when config "batch_norm" is true (inference: gamma (z - mean) /
//                         sqrt(var + 1e-5) + beta after w and b)
//   config                JSON text as a 0-d unicode array:
//                         json.loads(np.load(p)["config"].item())
//   input_mean, input_std float32 (features,), only for zscore normalisation
// config holds format_version; a newer version is refused with a clear message.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "digitnet/data/image.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/trainer.hpp"

namespace digitnet {

// 1: the first; 2: batch normalization's arrays (gamma, beta, mean, var of each hidden layer).
// A file of version 1 reads as before; a newer version than this build's is refused.
constexpr int kModelFormatVersion = 2;

struct Model {
  Network<float> net;
  Normalizer norm;
  int height = 0, width = 0;  // input image shape (28x28, 8x8, ...)
  nlohmann::json config;      // everything stored under "config"
  InputFormat input;          // what its inputs are: geometry, full intensity, centring
};

// What a model file's config records of the run that trained it: its recipe, the data as
// it was used (name, test split, sizes), its history and result.
struct TrainingRecord {
  Recipe recipe;
  std::string dataset, split, preset;
  Centring centring = Centring::mnist;  // how the dataset places its digits (image.hpp)
  std::size_t train_examples = 0, test_examples = 0;
  std::vector<EpochReport> history;
  std::optional<double> test_accuracy;
};
nlohmann::json record_json(const TrainingRecord& r);
// The recipe a model file records (files from before recipes: none). Throws Error naming the
// file and the setting if it is not a valid recipe.
std::optional<Recipe> recorded_recipe(const nlohmann::json& config, const std::string& path);

// `extra` is merged into config (record_json, and anything else the caller keeps there).
void save_model(const std::string& path, const Network<float>& net, const Normalizer& norm, int height, int width,
                const nlohmann::json& extra);
Model load_model(const std::string& path);

// One image (values in [0, 1], light on dark, the model's input size) to the output
// probabilities: normalised as in training, then the forward pass.
std::vector<float> predict_one(Model& model, std::span<const float> x01);
// An image prepared for the model (image.hpp: prepare_input) to the output probabilities, as
// eval computes them for the same example.
std::vector<float> predict_input(Model& model, const ModelInput& input);

}  // namespace digitnet
