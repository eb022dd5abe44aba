#pragma once
// Named recipes: one per seed write-up (shared/seeds), and the best fully-connected networks
// digitnet trains in about a minute on 2 cores. A front end's settings given with a preset
// override its values.
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/train/recipe.hpp"

namespace digitnet {

struct Preset {
  std::string name;
  std::string seed;     // which write-up in shared/seeds it reproduces, or "-"
  std::string summary;  // one line for `digitnet presets`
  Recipe recipe;
};

const std::vector<Preset>& presets();
// By name (seed000 ... name the seed write-ups' presets); throws SettingError naming "preset"
// with the known names, and the closest one.
const Preset& find_preset(std::string_view name);

}  // namespace digitnet
