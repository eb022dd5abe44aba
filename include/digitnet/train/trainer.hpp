#pragma once
// The training loop: shuffle, slice into batches, (augment,) forward/backward, update.
// A Trainer owns the loop, its buffers and the optimizer state; the Network owns the weights.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/augment.hpp"
#include "digitnet/train/distributed.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/optimizer.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/schedule.hpp"

namespace digitnet {

struct EpochReport {
  int epoch = 0;
  double loss = 0;            // mean loss per example over the epoch
  double train_accuracy = 0;  // on each batch before its update, as the seeds measure it
  std::optional<double> val_accuracy, test_accuracy;
  double lr = 0;       // at the end of the epoch
  double seconds = 0;  // training time since the previous report
};

// A report as JSON (what model files and checkpoints hold, and the CLI prints): epoch, loss,
// train_accuracy, val_accuracy and test_accuracy (null when not measured), lr, seconds.
nlohmann::json report_json(const EpochReport& r);

// Where a run is, and everything besides the network's weights that it needs to go on exactly
// as if it had never stopped (data/checkpoint.hpp writes it to a file and reads it back).
struct TrainerState {
  int epoch = 0;                   // epochs begun
  std::size_t batch = 0;           // batches of that epoch done; 0 once the epoch has ended
  std::vector<std::size_t> order;  // that epoch's order of the examples, while it runs
  double loss_sum = 0;             // its loss summed over the examples so far
  std::size_t correct = 0;         // and the examples predicted right
  double seconds = 0;              // training time since the last report
  bool stopped = false;            // early stopping ended the run
  std::vector<EpochReport> history;
  int best_epoch = 0;  // early stopping: the epoch of the best validation accuracy, and its weights
  double best_val = -1;
  std::vector<float> best_parameters;  // the network's values then, statistics included (empty: none yet)
  double first_loss = 0;               // the run's first batch's loss, to tell divergence by
  std::vector<float> ema;              // the moving average of the trainable parameters (recipe's ema)
  // The run has ended with its average in the network: ema then holds the weights as trained,
  // which a resume with more epochs swaps back before it goes on.
  bool averaged = false;
  Rng::State shuffle_rng{};  // dropout and augmentation draw from (seed, epoch, batch): no state
  OptimizerState<float> optimizer;
};

// Data-parallel training (train/distributed.hpp): every process of comm runs a Trainer on the
// same network, data and recipe; each takes its share of every batch (the recipe's reduce and
// micro_batch say how), the gradients are summed, and every process applies the same update.
// Evaluation is split between them too.
struct Sharing {
  Comm* comm = nullptr;  // must outlive the Trainer
  // exact: how far apart (as a power of 2) the micro-batches' largest values may be and still
  // be summed each on its own grid; farther, the batch is computed again on one grid.
  int exact_spread = 16;
  std::function<bool()> stop;  // whether this process asks the run to stop (checked every batch)
};

class Reducer;  // train/reducer.hpp: how a batch is divided and its gradients summed

class Trainer {
 public:
  using Progress = std::function<void(std::size_t done, std::size_t total)>;
  using OnReport = std::function<void(const EpochReport&)>;
  // Called after every batch's update (epoch_end false) and after every epoch; returning true
  // pauses the run there: fit returns, and state() is where to go on from.
  using Pause = std::function<bool(bool epoch_end)>;

  // Throws SettingError if the recipe is not valid.
  Trainer(Network<float>& net, const Normalizer& norm, Recipe recipe);
  ~Trainer();
  Trainer(const Trainer& other);
  Trainer& operator=(const Trainer&) = delete;

  // One pass over `train` in a fresh seeded order. Throws SettingError naming lr if the loss
  // stops being finite or grows far beyond where it started (the run diverged).
  EpochReport train_epoch(const Dataset& train, const Progress& progress = {});
  // Every epoch not yet done; reports every report_every epochs and after the last. With a
  // validation set and early_stop, stops when validation accuracy has not improved for
  // early_stop epochs, and leaves the network with the weights of its best epoch. Returns the
  // reports of the whole run (a resumed run's earlier ones included).
  std::vector<EpochReport> fit(const Dataset& train, const Dataset* test, const OnReport& on_report = {},
                               const Progress& progress = {}, const Dataset* val = nullptr, const Pause& pause = {});
  bool finished() const { return st_.stopped || (st_.epoch >= recipe_.epochs && st_.batch == 0); }
  double accuracy(const Dataset& data);
  int best_epoch() const { return st_.best_epoch; }
  int epoch() const { return st_.epoch; }  // epochs begun
  const Recipe& recipe() const { return recipe_; }

  TrainerState state() const;  // a copy, the optimizer's buffers included
  // Where the run is, without the optimizer's buffers (optimizer() has them), copied nowhere:
  // what a checkpoint writes.
  const TrainerState& position() const { return st_; }
  const OptimizerState<float>& optimizer_state() const { return optimizer_.state(); }
  // Goes on from a state a run of the same settings, data and network reached. Throws Error if
  // it does not fit them.
  void restore(TrainerState state, std::size_t examples);
  // More epochs for a resumed run (not fewer than it has begun).
  void set_epochs(int epochs);

  // Trains as one of several processes from now on (or alone with reduce exact, to get the
  // bits any number of processes gets).
  void share(Sharing sharing);
  // Sharing: whether some process asked to stop at the last batch (the same on every process).
  bool stop_agreed() const { return stop_agreed_; }

 private:
  struct BatchResult {
    double loss = 0;          // the batch-mean loss
    std::size_t correct = 0;  // examples predicted right before the update
  };
  std::size_t batches(std::size_t examples) const;
  double lr_at(std::size_t b, std::size_t batches) const;
  void begin_epoch(std::size_t examples);
  bool run_batches(const Dataset& train, const Progress& progress, const Pause& pause);
  void watch_divergence(double loss);
  EpochReport end_epoch(const Dataset& train);
  BatchResult train_batch(const Dataset& train, std::size_t first, std::size_t count, double lr);
  struct Ahead {
    std::span<const std::size_t> rows;   // the rows after a step's: to load into cache meanwhile
    std::span<const std::size_t> after;  // the rows after those
    bool next_step = false;              // `rows` are the next step's, and only this step changes the weights
  };
  float share_step(const Dataset& train, std::span<const std::size_t> idx, const Ahead& ahead, int batch,
                   std::uint64_t draw, Network<float>::WeightSums sums, bool accumulate);
  void fill_batch(const Dataset& train, std::span<const std::size_t> idx, std::uint64_t draw);
  void apply_update(double lr);
  // Runs f with the moving average of the weights in the network (when the recipe keeps one).
  template <class F>
  void with_average(F&& f);
  void swap_average(bool to_average);

  Network<float>& net_;
  const Normalizer& norm_;
  Recipe recipe_;
  Schedule schedule_;
  Augment augment_;
  Optimizer<float> optimizer_;
  Rng shuffle_rng_;
  TrainerState st_;           // its optimizer state is kept in optimizer_ while training
  double epoch_seconds_ = 0;  // time spent in the current epoch
  Tensor<float> X_;
  std::vector<int> y_;
  Sharing sharing_;                   // comm is null when training alone
  std::unique_ptr<Reducer> reducer_;  // alone, ordered or exact
  bool stop_agreed_ = false;
};

}  // namespace digitnet
