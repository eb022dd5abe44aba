#pragma once
// What `train` prints: a header, a line (or with --json a JSON object) per report, a progress
// bar on a terminal, and the result.
#include <cstddef>
#include <string>

#include "digitnet/train/recipe.hpp"
#include "digitnet/train/split.hpp"
#include "digitnet/train/trainer.hpp"

namespace digitnet::cli {

class TrainOutput {
 public:
  TrainOutput(bool json, bool validating, int next_epoch);
  void header(const Recipe& r, const DataSplit& data, std::size_t validation) const;
  void report(const EpochReport& r);
  void progress(std::size_t done, std::size_t total) const;
  void result(double test_accuracy, std::size_t examples, const std::string& saved) const;

 private:
  bool json_, validating_, live_;
  int epoch_;
};

}  // namespace digitnet::cli
