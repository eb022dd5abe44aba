#pragma once
// What the sweep (sweep_cmd.cpp) runs of the train command (train_cmd.cpp): a quiet run of a
// point's recipe.
#include <functional>
#include <optional>

#include "digitnet/train/recipe.hpp"

namespace digitnet::cli {

struct QuietRun {
  double test_accuracy = 0;
  std::optional<double> val_accuracy;
  double loss = 0;     // the last epoch's mean training loss
  int epochs = 0;      // run (fewer than asked when early stopping ended it)
  double seconds = 0;  // training, without loading and scoring
};
// Trains the recipe on its data, printing nothing; `tick` runs after every batch. Throws Error
// as train does (a missing file, a diverged run).
QuietRun train_quietly(Recipe recipe, bool layers_given, const std::function<void()>& tick);

}  // namespace digitnet::cli
