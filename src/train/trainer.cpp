#include "digitnet/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/train/average.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/sgd.hpp"
#include "kernels/split.hpp"
#include "train/reducer.hpp"

namespace digitnet {
namespace {
constexpr std::uint64_t kAugmentStream = 5;
// A loss this many times the run's first (or 1, if that was smaller) has diverged: no run that
// learns comes back from there, and one that has blown up usually ends as a dead network.
constexpr double kDivergence = 100;

// The draw of one batch of the run for one use (dropout, augmentation): from the seed and the
// batch's place alone, so that no generator state has to be carried or skipped.
std::uint64_t batch_draw(std::uint64_t seed, std::uint64_t stream, int epoch, std::size_t batch) {
  Rng rng(seed ^ (std::uint64_t(epoch) * 0x9e3779b97f4a7c15ULL) ^ (std::uint64_t(batch) * 0xc2b2ae3d27d4eb4fULL),
          stream);
  return rng.next();
}
}  // namespace

nlohmann::json report_json(const EpochReport& r) {
  const auto maybe = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  return {{"epoch", r.epoch},
          {"loss", r.loss},
          {"train_accuracy", r.train_accuracy},
          {"val_accuracy", maybe(r.val_accuracy)},
          {"test_accuracy", maybe(r.test_accuracy)},
          {"lr", r.lr},
          {"seconds", r.seconds}};
}

Trainer::Trainer(Network<float>& net, const Normalizer& norm, Recipe recipe)
    : net_(net),
      norm_(norm),
      recipe_((validate(recipe), std::move(recipe))),
      schedule_(learning_schedule(recipe_)),
      augment_(augmentation(recipe_)),
      optimizer_(optimizer_config(recipe_), net),
      shuffle_rng_(recipe_.seed, kShuffleStream),
      reducer_(make_reducer(recipe_, sharing_)) {
  st_.shuffle_rng = shuffle_rng_.state();
  const Architecture a = architecture(recipe_), &b = net.arch();
  if (a.sizes != b.sizes || a.hidden != b.hidden || a.loss != b.loss)
    throw SettingError("layers", fmt::format("the recipe's network {} {}/{} is not the one given to train, {} {}/{}",
                                             layers_to_string(a.sizes), to_string(a.hidden), to_string(a.loss),
                                             layers_to_string(b.sizes), to_string(b.hidden), to_string(b.loss)));
  // While it trains, the network drops units and smooths labels as the recipe says.
  net.set_dropout(recipe_.dropout);
  net.set_label_smoothing(recipe_.label_smoothing);
}

Trainer::~Trainer() = default;

Trainer::Trainer(const Trainer& o)
    : net_(o.net_),
      norm_(o.norm_),
      recipe_(o.recipe_),
      schedule_(o.schedule_),
      augment_(o.augment_),
      optimizer_(o.optimizer_),
      shuffle_rng_(o.shuffle_rng_),
      st_(o.st_),
      epoch_seconds_(o.epoch_seconds_),
      sharing_(o.sharing_),
      reducer_(o.reducer_->clone()),
      stop_agreed_(o.stop_agreed_) {}

// Rows idx of the dataset into X_ (normalised), distorted first when augmenting: each image
// with draws of its own stream of the batch's draw, so whichever core (or process) takes it
// distorts it the same way.
void Trainer::fill_batch(const Dataset& train, std::span<const std::size_t> idx, std::uint64_t draw) {
  X_.resize(static_cast<int>(idx.size()), train.features());
  if (!augment_.any()) return norm_.gather(train, idx, X_.view());
  Normalizer scale;
  scale.pixel_max = norm_.pixel_max;
  scale.gather(train, idx, X_.view());  // [0, 1]
  const std::size_t F = train.features(), n = idx.size();
  const auto images = [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      Rng rng(draw, idx[i]);
      const std::span<float> image(X_.view().row(static_cast<int>(i)), F);
      augment_image(augment_, image, train.height, train.width, rng);
      if (norm_.kind == Normalizer::zscore) norm_.apply01(image, image);
    }
  };
  split_items(n, double(F) * cost::kAugmented, images);
}

void Trainer::apply_update(double lr) {
  if (recipe_.l2 > 0)  // d/dW of l2/2 |W|^2 (weights, not biases)
    for (const auto& layer : net_.layers) {
      const std::span<float> W = layer.Wt.values(), dW = layer.dWt.values();
      for (std::size_t i = 0; i < W.size(); ++i) dW[i] += float(recipe_.l2) * W[i];
    }
  const std::span<float> g = net_.layers.gradients();
  if (recipe_.clip_norm > 0) {
    double sq = 0;
    for (const float v : g) sq += double(v) * v;
    const double norm = std::sqrt(sq);
    if (norm > recipe_.clip_norm) {
      const auto scale = static_cast<float>(recipe_.clip_norm / norm);
      for (float& v : g) v *= scale;
    }
  }
  optimizer_.step(net_, lr);
}

std::size_t Trainer::batches(std::size_t examples) const {
  const std::size_t batch = recipe_.batch == 0 ? examples : static_cast<std::size_t>(recipe_.batch);
  return (examples + batch - 1) / batch;
}

// The learning rate of batch b of the current epoch: the schedule at the epochs done so far.
double Trainer::lr_at(std::size_t b, std::size_t count) const {
  return scheduled_lr(schedule_, recipe_.lr, double(st_.epoch - 1) + double(b) / double(count), recipe_.epochs);
}

void Trainer::begin_epoch(std::size_t examples) {
  ++st_.epoch;
  st_.batch = 0;
  st_.loss_sum = 0;
  st_.correct = 0;
  epoch_seconds_ = 0;
  st_.order.resize(examples);
  std::iota(st_.order.begin(), st_.order.end(), 0);
  shuffle_rng_.shuffle(std::span<std::size_t>(st_.order));
  st_.shuffle_rng = shuffle_rng_.state();  // it draws only here
}

// A run whose loss is no longer finite, or has grown far beyond where it started, has
// diverged: it stops here, before the weights it broke are saved anywhere.
void Trainer::watch_divergence(double loss) {
  if (st_.first_loss == 0 && std::isfinite(loss)) st_.first_loss = std::max(loss, 1e-30);
  const double limit = kDivergence * std::max(st_.first_loss, 1.0);
  if (std::isfinite(loss) && loss <= limit) return;
  throw SettingError("lr", fmt::format("training diverged in epoch {}: the loss went from {:.3g} to {:.3g}; try a "
                                       "smaller `lr` (now {}){}",
                                       st_.epoch, st_.first_loss, loss, recipe_.lr,
                                       recipe_.clip_norm == 0 ? " or set `clip_norm`" : ""));
}

// The current epoch's batches from st_.batch on. Returns false if `pause` stopped it midway.
bool Trainer::run_batches(const Dataset& train, const Progress& progress, const Pause& pause) {
  const std::size_t n = train.size(), count = batches(n);
  const std::size_t batch = recipe_.batch == 0 ? n : static_cast<std::size_t>(recipe_.batch);
  const std::size_t tick = std::max<std::size_t>(1, count / 100);
  net_.weights_changed();  // set since the last pass, perhaps (a resumed run): no first layer computed ahead is kept
  while (st_.batch < count) {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t b = st_.batch, first = b * batch, rows = std::min(batch, n - first);
    const BatchResult r = train_batch(train, first, rows, lr_at(b, count));
    watch_divergence(r.loss);
    st_.loss_sum += r.loss * double(rows);  // batch mean -> sum, so the epoch mean is per example
    st_.correct += r.correct;
    ++st_.batch;
    epoch_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (progress && (b % tick == 0 || b + 1 == count)) progress(b + 1, count);
    if (pause && pause(/*epoch_end=*/false)) return false;
  }
  return true;
}

EpochReport Trainer::end_epoch(const Dataset& train) {
  // A finite loss can hide weights that overflowed in the last updates.
  for (const float w : net_.layers.parameters())
    if (!std::isfinite(w))
      throw SettingError(
          "lr", fmt::format("training diverged in epoch {}: a weight became {}; try a smaller `lr` (now {})", st_.epoch,
                            w, recipe_.lr));
  const std::size_t n = train.size(), count = batches(n);
  EpochReport r;
  r.epoch = st_.epoch;
  r.loss = st_.loss_sum / double(n);
  r.train_accuracy = double(st_.correct) / double(n);
  r.lr = lr_at(count - 1, count);
  r.seconds = epoch_seconds_;
  st_.batch = 0;
  st_.order.clear();
  return r;
}

EpochReport Trainer::train_epoch(const Dataset& train, const Progress& progress) {
  if (train.features() != net_.arch().inputs())
    throw Error(fmt::format("the data has {} values per example but the network's input size is {}", train.features(),
                            net_.arch().inputs()));
  swap_average(false);
  begin_epoch(train.size());
  run_batches(train, progress, {});
  EpochReport r = end_epoch(train);
  if (st_.epoch >= recipe_.epochs) swap_average(true);  // the last epoch: its average is the network
  return r;
}

// The batch of order[first, first + count): one pass of steps over this process's shares of it
// (train/reducer.hpp: the whole batch in chunks when alone), whose gradients the reducer turns
// into the batch's, then the optimizer's update. Plain SGD on a batch of one step alone takes
// its update inside the backward pass instead.
Trainer::BatchResult Trainer::train_batch(const Dataset& train, std::size_t first, std::size_t count, double lr) {
  const std::vector<Share> shares = reducer_->shares(count);
  const bool fused =
      reducer_->alone() && shares.size() == 1 && optimizer_.is_plain_sgd() && recipe_.l2 == 0 && recipe_.clip_norm == 0;
  const FusedSgd<float> sgd{static_cast<float>(lr)};
  const std::uint64_t draw = batch_draw(recipe_.seed, kDropoutStream, st_.epoch, st_.batch);
  const std::span<const std::size_t> order(st_.order);
  BatchTotals totals;
  do {
    totals = {};
    reducer_->begin(net_.layers, count);
    for (std::size_t k = 0; k < shares.size(); ++k) {
      const Share& s = shares[k];
      const auto idx = order.subspan(first + s.begin, s.end - s.begin);
      // the rows to load into cache meanwhile: the next share's, or those after this batch (the
      // next batch's when it is as large: a fused update can compute its first layer ahead)
      const std::size_t next = k + 1 < shares.size() ? first + shares[k + 1].begin : first + count;
      const std::size_t ahead_rows = k + 1 < shares.size() ? shares[k + 1].end - shares[k + 1].begin : idx.size();
      const auto rows_from = [&](std::size_t i) {
        return order.subspan(std::min(i, order.size()), std::min(ahead_rows, order.size() - std::min(i, order.size())));
      };
      const auto ahead = rows_from(next), after = rows_from(next + ahead_rows);
      const auto sums = fused ? Network<float>::WeightSums(sgd) : Network<float>::gradient_sums(s.accumulate);
      const Ahead look{ahead, after, fused && ahead.size() == idx.size()};
      const float loss = share_step(train, idx, look, static_cast<int>(count), draw, sums, s.accumulate);
      totals.loss += loss;
      const Matrix<const float> out = net_.output();
      for (std::size_t i = 0; i < idx.size(); ++i)
        totals.correct += argmax({out.row(static_cast<int>(i)), std::size_t(out.cols)}) == y_[i];
      reducer_->add(net_.layers, loss);
    }
    totals.stop = sharing_.stop && sharing_.stop();
  } while (!reducer_->finish(net_.layers, totals));
  stop_agreed_ = totals.stop;
  if (!fused) apply_update(lr);
  if (net_.arch().batch_norm) net_.update_batch_statistics(double(count));
  if (recipe_.ema > 0) average_update(st_.ema, std::span<const float>(net_.layers.parameters()), recipe_.ema);
  return {totals.loss, totals.correct};
}

// One step on rows idx of a batch of `batch` rows; asks for the rows `ahead` to be loaded into
// cache meanwhile. A small batch without augmentation is written by each core for itself
// (kernels/split.hpp); any other is converted (and distorted) once, here. Such a batch can also
// be the next step's, written ahead: after a fused update, Network::train_step then computes
// that step's first layer in this one.
float Trainer::share_step(const Dataset& train, std::span<const std::size_t> idx, const Ahead& ahead, int batch,
                          std::uint64_t draw, Network<float>::WeightSums sums, bool accumulate) {
  const int rows = static_cast<int>(idx.size());
  y_.resize(idx.size());
  for (std::size_t i = 0; i < idx.size(); ++i) y_[i] = train.labels[idx[i]];
  if (!augment_.any() && batch_written_on_each_core(rows)) {
    const auto gather = [&](Matrix<float> X, int first) {
      norm_.gather(train, idx, X, first);
      train.prefetch(ahead.rows, first, X.cols);
    };
    const auto gather_next = [&](Matrix<float> X, int first) {
      norm_.gather(train, ahead.rows, X, first);
      train.prefetch(ahead.after, first, X.cols);
    };
    const Batch<float>::Fill fill(gather), fill_next(gather_next);
    const Batch<float> next(rows, train.features(), fill_next);
    Examples<float> ex{Batch<float>(rows, train.features(), fill), y_, batch, idx, draw, accumulate};
    if (ahead.next_step) ex.next = &next, ex.next_keys = ahead.rows;
    return net_.train_step(ex, sums);
  }
  fill_batch(train, idx, batch_draw(recipe_.seed, kAugmentStream, st_.epoch, st_.batch));
  train.prefetch(ahead.rows);
  return net_.train_step({X_.view(), y_, batch, idx, draw, accumulate}, sums);
}

double Trainer::accuracy(const Dataset& data) {
  if (!sharing_.comm || sharing_.comm->size() == 1) {
    const Predictions p = predict_dataset(net_, norm_, data);
    return compute_metrics(data.labels, p.label, net_.arch().classes()).accuracy;
  }
  // Sharing: each process scores its share of the examples; the counts add up exactly.
  const auto R = static_cast<std::size_t>(sharing_.comm->size()), me = static_cast<std::size_t>(sharing_.comm->rank());
  const auto [begin, end] = even_share(data.size(), me, R);
  std::vector<std::size_t> mine(end - begin);
  std::iota(mine.begin(), mine.end(), begin);
  const Dataset part = data.subset(mine);
  double correct[1] = {0};
  if (part.size() > 0) {
    const Predictions p = predict_dataset(net_, norm_, part);
    for (std::size_t i = 0; i < part.size(); ++i) correct[0] += p.label[i] == part.labels[i];
  }
  sharing_.comm->sum(std::span<double>(correct));
  return data.size() == 0 ? 0.0 : correct[0] / double(data.size());
}

// The network's trainable parameters and the average trade places: at the end of a run (the
// average becomes the network) or when a resumed run goes on past its end (the weights as
// trained come back). A swap, not a copy, so a checkpoint written after the end still holds both.
void Trainer::swap_average(bool to_average) {
  if (st_.ema.empty() || st_.averaged == to_average) return;
  const std::span<float> p = net_.layers.parameters();
  std::swap_ranges(p.begin(), p.end(), st_.ema.begin());
  net_.weights_changed();
  st_.averaged = to_average;
}

template <class F>
void Trainer::with_average(F&& f) {
  if (st_.averaged) return f();  // the network is the average already
  swap_average(true);            // nothing to swap without an average
  f();
  swap_average(false);
}

std::vector<EpochReport> Trainer::fit(const Dataset& train, const Dataset* test, const OnReport& on_report,
                                      const Progress& progress, const Dataset* val, const Pause& pause) {
  if (train.features() != net_.arch().inputs())
    throw Error(fmt::format("the data has {} values per example but the network's input size is {}", train.features(),
                            net_.arch().inputs()));
  const bool stopping = recipe_.early_stop > 0 && val && val->size() > 0;
  const auto parameters = net_.layers.values();  // the running statistics too
  if (!finished()) swap_average(false);          // a resumed run that goes on past its old end
  while (!finished()) {
    if (st_.batch == 0) begin_epoch(train.size());
    if (!run_batches(train, progress, pause)) break;
    EpochReport r = end_epoch(train);
    const int e = r.epoch;
    st_.seconds += r.seconds;
    bool stop = false;
    if (stopping) {  // the weights evaluated (the average, when kept) are the ones kept
      with_average([&] {
        r.val_accuracy = accuracy(*val);
        if (*r.val_accuracy > st_.best_val) {
          st_.best_val = *r.val_accuracy;
          st_.best_epoch = e;
          st_.best_parameters.assign(parameters.begin(), parameters.end());
        }
      });
      stop = e - st_.best_epoch >= recipe_.early_stop;
    }
    const bool last = stop || e == recipe_.epochs;
    if (last) swap_average(true);  // the run ends with its average in the network
    if (e % recipe_.report_every == 0 || last) {
      r.seconds = st_.seconds;
      st_.seconds = 0;
      // The best epoch's weights, before the test set is scored.
      if (stop || (stopping && e == recipe_.epochs)) {
        std::copy(st_.best_parameters.begin(), st_.best_parameters.end(), parameters.begin());
        net_.weights_changed();
      }
      with_average([&] {
        if (val && val->size() > 0 && !r.val_accuracy) r.val_accuracy = accuracy(*val);
        if (test && test->size() > 0) r.test_accuracy = accuracy(*test);
      });
      st_.history.push_back(r);
      if (on_report) on_report(r);
    }
    st_.stopped = stop;
    if (pause && pause(/*epoch_end=*/true)) break;
  }
  return st_.history;
}

TrainerState Trainer::state() const {
  TrainerState s = st_;
  s.shuffle_rng = shuffle_rng_.state();
  s.optimizer = optimizer_.state();
  return s;
}

void Trainer::restore(TrainerState s, std::size_t examples) {
  if (s.epoch < 0 || s.epoch > recipe_.epochs || (s.batch > 0 && s.order.size() != examples) ||
      s.batch > batches(examples) || (s.epoch == 0 && s.batch > 0))
    throw Error("the saved training state does not fit this run (its epoch, batch or data size differ)");
  for (std::size_t i : s.order)
    if (i >= examples) throw Error("the saved training state does not fit this run (an example index is out of range)");
  if (!s.best_parameters.empty() && s.best_parameters.size() != net_.layers.values().size())
    throw Error("the saved best weights do not fit this network");
  optimizer_.restore(std::move(s.optimizer));
  shuffle_rng_.set_state(s.shuffle_rng);
  st_ = std::move(s);
  epoch_seconds_ = 0;
}

void Trainer::share(Sharing sharing) {
  sharing_ = std::move(sharing);
  reducer_ = make_reducer(recipe_, sharing_);
}

void Trainer::set_epochs(int epochs) {
  if (epochs < st_.epoch) throw SettingError("epochs", fmt::format("the run has already begun epoch {}", st_.epoch));
  Recipe r = recipe_;
  r.epochs = epochs;
  validate(r);
  recipe_ = std::move(r);
}

}  // namespace digitnet
