#pragma once
// A recipe: every setting of a training run in one struct, and one table that describes each
// setting (its kind, default, range and a line of help). Everything else is made from the table:
// the CLI's flags and help, the Python estimator's parameters, the presets (each one a recipe),
// sweep grids' keys, what a model file and a checkpoint record, and what the processes of a
// distributed run must agree on. Adding a setting is one field here and one row in recipe.cpp.
//
// Errors name the setting as the recipe does ("lr", "layers[1]"): SettingError. Each front end
// says the name in its own words (the CLI's flag, the estimator's parameter).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/nn/init.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/augment.hpp"
#include "digitnet/train/distributed.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/optimizer.hpp"
#include "digitnet/train/schedule.hpp"
#include "digitnet/train/split.hpp"

namespace digitnet {

struct Recipe {
  // the network
  std::vector<int> layers{784, 128, 64, 10};
  std::string activation = "relu";
  std::string loss = "ce";
  std::string init = "he";
  std::string batch_norm = "off";  // "on": each hidden layer's product normalized (nn/batch_norm.hpp)
  // the optimizer
  std::string optimizer = "sgd";
  double lr = 0.32;
  double momentum = 0.9, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  std::string schedule = "constant";
  double warmup = 0;
  // regularisation
  std::vector<double> dropout{0};  // one value for every hidden layer, or one each
  double label_smoothing = 0, l2 = 0, clip_norm = 0;
  std::string augment = "none";
  double ema = 0;  // decay of an exponential moving average of the weights, evaluated and saved (0: off)
  // the data
  std::string data;  // a dataset's name or a path; empty: not chosen yet
  std::string normalize = "scale";
  std::string split = "auto";
  double val = 0;
  // the run
  int batch = 32;  // 0: the whole training set (full batch)
  int epochs = 30;
  std::uint64_t seed = 1;
  int report_every = 1;
  int early_stop = 0;
  int threads = 0;  // 0: chosen for the machine and the network
  std::string reduce = "ordered";
  int micro_batch = 32;

  bool operator==(const Recipe&) const = default;
};

enum class SettingKind {
  whole,    // a whole number in a range, written in decimal digits
  seed,     // a whole number from 0 to 2^64 - 1
  number,   // a finite number in a range
  choice,   // one of a few words
  spec,     // a word with parameters ("normal:0.1", "step:10:0.5"), checked by its parser
  text,     // any text (a name or a path)
  sizes,    // a list of whole numbers ("784,128,10")
  numbers,  // a list of numbers ("0.3,0.2")
  batch,    // a whole number, or "full"
};
enum class SettingGroup { model, optimizer, regularization, data, run };
std::string_view to_string(SettingGroup group);

using SettingField = std::variant<int Recipe::*, std::uint64_t Recipe::*, double Recipe::*, std::string Recipe::*,
                                  std::vector<int> Recipe::*, std::vector<double> Recipe::*>;

struct SettingRange {
  double lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;  // (lo, ...] or [..., hi)
  bool contains(double v) const { return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi); }
  std::string to_string() const;  // "[0, 1)"
};

struct Setting {
  std::string_view name;
  SettingGroup group;
  SettingKind kind;
  SettingField field;
  SettingRange range;                     // whole, number, batch, and each item of a list
  std::vector<std::string_view> choices;  // choice: the words; spec: its forms, for help
  std::string_view help;                  // one line
  bool shared = true;                     // every process of a distributed run must have the same value
  bool estimator = true;                  // a parameter of the Python estimator (data and run layout are not)
};

// Every setting, in the order help text shows them.
const std::vector<Setting>& recipe_settings();
// By name, '-' read as '_'. nullptr if none; find_setting throws SettingError (with the
// closest names) instead.
const Setting* lookup_setting(std::string_view name);
const Setting& find_setting(std::string_view name);

// A setting's value: as JSON (what files record), as text (what the CLI reads and prints).
nlohmann::json get_setting(const Recipe& r, const Setting& s);
std::string setting_text(const Recipe& r, const Setting& s);
// Sets a setting from the CLI's text or from JSON; throws SettingError if the value is not of
// its kind or outside its range. Whole numbers are decimal digits only ("0x10" is refused).
void set_setting(Recipe& r, const Setting& s, std::string_view text);
void set_setting(Recipe& r, const Setting& s, const nlohmann::json& value);

// Every problem of a recipe: each value in its range, each spec parsed, and the rules between
// settings (warmup within the epochs, early_stop with a validation share, one dropout value per
// hidden layer, label smoothing with ce). Empty when the recipe can run.
std::vector<SettingError> check_recipe(const Recipe& r);
void validate(const Recipe& r);  // throws the first of check_recipe

// A recipe as a JSON object of every setting, and back: a missing setting keeps the default,
// an unknown one is an error (with the closest names); the result is validated.
nlohmann::json recipe_json(const Recipe& r);
Recipe recipe_from_json(const nlohmann::json& j, const Recipe& defaults = {});
// The names of the settings whose values differ (shared_only: those processes must agree on).
std::vector<std::string> recipe_differences(const Recipe& a, const Recipe& b, bool shared_only = false);

// The pieces of a validated recipe, as the layers below it take them.
Architecture architecture(const Recipe& r);
OptimizerConfig optimizer_config(const Recipe& r);
Schedule learning_schedule(const Recipe& r);
Augment augmentation(const Recipe& r);
SplitSpec data_split(const Recipe& r);
Normalizer::Kind normalization(const Recipe& r);
Reduction reduction(const Recipe& r);

// The recipe's network with its initial weights (seeded), dropout and label smoothing.
Network<float> new_network(const Recipe& r);

// The recipe's network sized for data of `features` inputs: a preset's or default layers take
// the data's input size; layers given explicitly must fit (SettingError naming layers).
void fit_to_data(Recipe& r, int features, int height, bool layers_given);

// The closest of `names` to `word` by edit distance, if it is close enough to be a typo.
std::optional<std::string> closest_name(std::string_view word, const std::vector<std::string>& names);

}  // namespace digitnet
