#pragma once
// Named training settings, one per seed write-up (README, "Presets"). Flags given on
// the command line override a preset's values.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
};

struct Preset {
  std::string name;
  std::string seed;     // which write-up in shared/seeds it reproduces
  std::string summary;  // one line for `digitnet presets`
  TrainSettings settings;
};

const std::vector<Preset>& presets();
const Preset& find_preset(std::string_view name);  // throws Error listing the names

}  // namespace digitnet
