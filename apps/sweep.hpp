#pragma once
// What the sweep (sweep_cmd.cpp) runs of the train command (train_cmd.cpp): a point's settings
// checked as train checks its flags, and a quiet run of them.
#include <functional>
#include <optional>
#include <string>

#include "presets.hpp"

namespace digitnet::cli {

// Throws Error naming the flag of the first value out of range (before any data is loaded).
void check_train_settings(const TrainSettings& s, bool layers_given);

struct QuietRun {
  double test_accuracy = 0;
  std::optional<double> val_accuracy;
  double loss = 0;     // the last epoch's mean training loss
  int epochs = 0;      // run (fewer than asked when early stopping ended it)
  double seconds = 0;  // training, without loading and scoring
};
// Trains on `data` (a name or path, as --data) with these settings, printing nothing; `tick`
// runs after every batch. Throws Error as train does (a missing file, a diverged run).
QuietRun train_quietly(const std::string& data, const TrainSettings& s, bool layers_given,
                       const std::function<void()>& tick);

}  // namespace digitnet::cli
