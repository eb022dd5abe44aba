#pragma once
// The recipe's settings as the command line's flags: the one place where a setting's name
// becomes a flag ("weight_decay" -> --weight-decay), its help and default come from the
// recipe's table (train/recipe.hpp), and a SettingError is said with the flag's name.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/train/recipe.hpp"

namespace digitnet::cli {

std::string flag_of(std::string_view setting);  // "weight_decay" -> "--weight-decay"
// A setting's error as the command line says it: "--layers[1]: 64.5 is not a whole number".
std::string flag_message(const SettingError& e);
// The --help heading of a group of settings: "Model", "Optimizer", ...
std::string group_heading(SettingGroup group);

class RecipeFlags {
 public:
  // Offers the named settings of the table as flags of cmd (all of them when `names` is
  // empty), in the table's order and groups; `defaults` gives the values --help shows.
  RecipeFlags(CLI::App& cmd, const std::vector<std::string_view>& names = {}, const Recipe& defaults = {});
  bool given(std::string_view setting) const;
  std::vector<std::string> given_names() const;
  // `base` with every flag given applied; a flag given twice is a SettingError. The result is
  // not validated as a whole yet (a preset, data or a checkpoint may still change it).
  Recipe apply(Recipe base) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

// The thread count a run asks for (0: the default), checked against the cores this machine
// has: more is capped there, with a warning on stderr that says why.
int threads_to_use(int asked);

}  // namespace digitnet::cli
