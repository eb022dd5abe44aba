#pragma once
// Splitting a dataset: its test part (the recipe's split) and a validation share of
// the training part (val). Random splits are drawn from the run's seed, so they are reproducible.
#include <cstdint>
#include <string>
#include <string_view>

#include "digitnet/core/dataset.hpp"

namespace digitnet {

struct SplitSpec {
  enum Kind { automatic, official, random, dev, all } kind = automatic;  // all: every example is a test one
  double fraction = 0.2;                                                 // random: share held out for testing
  std::size_t count = 0;                                                 // dev: examples held out
};
// auto | official | random:F | dev:N | all (every example tested: data a model is evaluated on
// that it was not trained on); throws SettingError naming split
SplitSpec parse_split(std::string_view text);
std::string to_string(const SplitSpec& split);

struct DataSplit {
  Dataset train, test;
  std::string split;  // how the test set was chosen, e.g. "official" or "random:0.2"
};

// A random or dev split of `all`: the first examples of a seeded shuffle are the test part
// (as in seed 003), the rest the training part. Throws SettingError naming split if a part is empty.
DataSplit split_dataset(const Dataset& all, const SplitSpec& split, std::uint64_t seed);

// Moves a seeded share `fraction` of `train` into the returned validation set (val).
// Throws SettingError naming val if either part would be empty.
Dataset hold_out(Dataset& train, double fraction, std::uint64_t seed);

}  // namespace digitnet
