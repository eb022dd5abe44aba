#pragma once
// Named training settings: one per seed write-up, and the best fully-connected networks
// digitnet trains in about a minute (README, "Presets"). Flags given on the command line
// override a preset's values.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace digitnet {

struct TrainSettings {
  std::vector<int> layers{784, 128, 64, 10};
  std::string activation = "relu";
  std::string loss = "ce";
  std::string init = "he";
  std::string normalize = "scale";
  std::string split = "auto";
  int batch = 32;  // 0 = full batch
  int epochs = 10;
  double lr = 0.32;
  std::uint64_t seed = 1;
  int report_every = 1;
  // Beyond the seeds (issue "digitnet learning"):
  std::string optimizer = "sgd";
  double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  std::string dropout = "0";  // one value, or one per hidden layer: "0.2,0.1"
  double label_smoothing = 0;
  double l2 = 0, clip_norm = 0;
  std::string schedule = "constant";
  double warmup = 0;
  double val = 0;  // share of the training part held out for validation
  int early_stop = 0;
  std::string augment = "none";
};

struct Preset {
  std::string name;
  std::string seed;     // which write-up in shared/seeds it reproduces, or "-"
  std::string summary;  // one line for `digitnet presets`
  TrainSettings settings;
};

// Settings as JSON (a checkpoint keeps them), and back; the keys are the flags' names
// without "--" and with '_' for '-'. Throws Error naming `what` on a missing or wrong value.
nlohmann::json settings_json(const TrainSettings& s);
TrainSettings settings_from_json(const nlohmann::json& j, const std::string& what);

const std::vector<Preset>& presets();
const Preset& find_preset(std::string_view name);  // throws Error listing the names

}  // namespace digitnet
