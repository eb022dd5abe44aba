#pragma once
// The training loop: shuffle, slice into batches, forward/backward, update.
// A Trainer owns the loop and its buffers; the Network owns the weights.
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "digitnet/dataset.hpp"
#include "digitnet/network.hpp"
#include "digitnet/normalize.hpp"

namespace digitnet {

struct TrainOptions {
  int epochs = 10;
  int batch = 32;          // 0 = full batch (the whole training set each step)
  double lr = 0.01;        // scales the gradient of the batch-mean loss
  std::uint64_t seed = 1;  // shuffling; the network is initialised separately
  int report_every = 1;    // epochs between reports (test accuracy, a printed line)
};

struct EpochReport {
  int epoch = 0;
  double loss = 0;            // mean loss per example over the epoch
  double train_accuracy = 0;  // on each batch before its update, as the seeds measure it
  std::optional<double> test_accuracy;
  double seconds = 0;  // training time since the previous report
};

class Trainer {
 public:
  using Progress = std::function<void(std::size_t done, std::size_t total)>;
  using OnReport = std::function<void(const EpochReport&)>;

  Trainer(Network<float>& net, const Normalizer& norm, TrainOptions options);

  // One pass over `train` in a fresh seeded order. Throws Error naming the epoch if the loss
  // stops being finite.
  EpochReport train_epoch(const Dataset& train, const Progress& progress = {});
  // All epochs; calls on_report every report_every epochs and after the last.
  std::vector<EpochReport> fit(const Dataset& train, const Dataset* test, const OnReport& on_report = {},
                               const Progress& progress = {});
  double accuracy(const Dataset& data);

 private:
  Network<float>& net_;
  const Normalizer& norm_;
  TrainOptions opt_;
  Rng shuffle_rng_;
  int epoch_ = 0;
  std::vector<std::size_t> order_;
  Tensor<float> X_;
  std::vector<int> y_;
};

}  // namespace digitnet
