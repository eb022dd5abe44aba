#include "digitnet/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/sgd.hpp"
#include "kernels/split.hpp"

namespace digitnet {
namespace {
constexpr std::size_t kChunk = 256;  // rows per pass through the network: their activations stay in cache
constexpr std::uint64_t kAugmentStream = 5;
}  // namespace

void check_options(const TrainOptions& o) {
  // Each value checked on its own, so the error names the flag; NaN fails every comparison.
  const auto in = [](double v, double lo, double hi) { return v >= lo && v <= hi; };
  if (o.epochs < 1 || o.epochs > 1'000'000) throw Error("--epochs: must be a whole number from 1 to 1000000");
  if (o.batch < 0) throw Error("--batch: must be a positive number or 'full'");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw Error(fmt::format("--lr: {} is not a positive number", o.lr));
  if (o.report_every < 1) throw Error("--report-every: must be at least 1");
  if (o.early_stop < 0) throw Error("--early-stop: must not be negative");
  const OptimizerConfig& c = o.optimizer;
  for (const auto& [flag, v] : {std::pair{"--momentum", c.momentum_factor}, {"--beta1", c.beta1}, {"--beta2", c.beta2}})
    if (!(v >= 0 && v < 1)) throw Error(fmt::format("{}: {} is not in [0, 1)", flag, v));
  if (!(c.eps > 0 && c.eps <= 1)) throw Error(fmt::format("--eps: {} is not in (0, 1]", c.eps));
  if (!in(c.weight_decay, 0, 1)) throw Error(fmt::format("--weight-decay: {} is not in [0, 1]", c.weight_decay));
  if (!in(o.l2, 0, 1)) throw Error(fmt::format("--l2: {} is not in [0, 1]", o.l2));
  if (!in(o.clip_norm, 0, 1e6)) throw Error(fmt::format("--clip-norm: {} is not in [0, 1e6] (0 is off)", o.clip_norm));
  if (!in(o.schedule.warmup_epochs, 0, o.epochs))
    throw Error(fmt::format("--warmup: {} is not a number of epochs from 0 to the run's {}", o.schedule.warmup_epochs,
                            o.epochs));
}

Trainer::Trainer(Network<float>& net, const Normalizer& norm, TrainOptions options)
    : net_(net),
      norm_(norm),
      opt_(options),
      optimizer_(options.optimizer, net),
      shuffle_rng_(options.seed, kShuffleStream),
      augment_rng_(options.seed, kAugmentStream) {
  check_options(opt_);
}

// Rows idx of the dataset into X_ (normalised), distorted first when augmenting.
void Trainer::fill_batch(const Dataset& train, std::span<const std::size_t> idx, int first_row) {
  X_.resize(static_cast<int>(idx.size()), train.features());
  if (!opt_.augment.any()) return norm_.gather(train, idx, X_.view());
  Normalizer scale;
  scale.pixel_max = norm_.pixel_max;
  scale.gather(train, idx, X_.view());  // [0, 1]
  const std::size_t F = train.features(), n = idx.size();
  const std::uint64_t draw = augment_rng_.next();  // one draw per batch; each image gets its own stream
  const auto images = [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      Rng rng(draw, kAugmentStream + first_row + i);  // the same distortions whatever core (or process) takes it
      const std::span<float> image(X_.view().row(static_cast<int>(i)), F);
      augment_image(opt_.augment, image, train.height, train.width, rng);
      if (norm_.kind == Normalizer::zscore) norm_.apply01(image, image);
    }
  };
  split_items(n, double(F) * cost::kAugmented, images);
}

void Trainer::apply_update(double lr) {
  if (opt_.l2 > 0)  // d/dW of l2/2 |W|^2
    for (auto& layer : net_.layers)
      for (std::size_t i = 0; i < layer.Wt.size(); ++i) layer.dWt.storage[i] += float(opt_.l2) * layer.Wt.storage[i];
  if (opt_.clip_norm > 0) {
    double sq = 0;
    for (const auto& layer : net_.layers) {
      for (float g : layer.dWt.storage) sq += double(g) * g;
      for (float g : layer.db.storage) sq += double(g) * g;
    }
    const double norm = std::sqrt(sq);
    if (norm > opt_.clip_norm) {
      const float scale = static_cast<float>(opt_.clip_norm / norm);
      for (auto& layer : net_.layers) {
        for (float& g : layer.dWt.storage) g *= scale;
        for (float& g : layer.db.storage) g *= scale;
      }
    }
  }
  optimizer_.step(net_, lr);
}

std::size_t Trainer::batches(std::size_t examples) const {
  const std::size_t batch = opt_.batch == 0 ? examples : static_cast<std::size_t>(opt_.batch);
  return (examples + batch - 1) / batch;
}

// The learning rate of batch b of the current epoch: the schedule at the epochs done so far.
double Trainer::lr_at(std::size_t b, std::size_t count) const {
  return scheduled_lr(opt_.schedule, opt_.lr, double(st_.epoch - 1) + double(b) / double(count), opt_.epochs);
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
}

// The current epoch's batches from st_.batch on. Returns false if `pause` stopped it midway.
bool Trainer::run_batches(const Dataset& train, const Progress& progress, const Pause& pause) {
  const std::size_t n = train.size(), count = batches(n);
  const std::size_t batch = opt_.batch == 0 ? n : static_cast<std::size_t>(opt_.batch);
  const std::size_t tick = std::max<std::size_t>(1, count / 100);
  while (st_.batch < count) {
    const auto start = std::chrono::steady_clock::now();
    const std::size_t b = st_.batch, first = b * batch, rows = std::min(batch, n - first);
    const BatchResult r = train_batch(train, first, rows, lr_at(b, count));
    if (!std::isfinite(r.loss))
      throw Error(fmt::format("epoch {}: the loss became {} (training diverged); try a smaller --lr (now {})",
                              st_.epoch, r.loss, opt_.lr));
    st_.loss_sum += double(r.loss) * double(rows);  // batch mean -> sum, so the epoch mean is per example
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
  for (const auto& layer : net_.layers)
    for (const auto* t : {&layer.Wt, &layer.b})
      for (float w : t->storage)
        if (!std::isfinite(w))
          throw Error(fmt::format("epoch {}: a weight became {} (training diverged); try a smaller --lr (now {})",
                                  st_.epoch, w, opt_.lr));
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
  begin_epoch(train.size());
  run_batches(train, progress, {});
  return end_epoch(train);
}

// The batch of order[first, first + count): forward and backward in chunks of at most kChunk
// rows, whose gradients add up to the whole batch's bit for bit, then the optimizer's update.
// Plain SGD on a batch of one chunk takes its step inside the backward pass instead.
Trainer::BatchResult Trainer::train_batch(const Dataset& train, std::size_t first, std::size_t count, double lr) {
  if (sharing_.comm && sharing_.reduction == Reduction::exact) return exact_batch(train, first, count, lr);
  if (sharing_.comm && sharing_.comm->size() > 1) return ordered_batch(train, first, count, lr);
  const bool fused = optimizer_.is_plain_sgd() && opt_.l2 == 0 && opt_.clip_norm == 0 && count <= kChunk;
  const FusedSgd<float> sgd{static_cast<float>(lr)};
  BatchResult r;
  const std::span<const std::size_t> order(st_.order);
  for (std::size_t c0 = 0; c0 < count; c0 += kChunk) {
    const std::size_t rows = std::min(kChunk, count - c0), next = first + c0 + rows;
    const auto idx = order.subspan(first + c0, rows),
               ahead = order.subspan(next, std::min(kChunk, order.size() - next));
    y_.resize(rows);
    for (std::size_t i = 0; i < rows; ++i) y_[i] = train.labels[idx[i]];
    const auto sums = fused ? Network<float>::WeightSums(sgd) : Network<float>::gradients(/*accumulate=*/c0 > 0);
    r.loss += chunk_step(train, idx, ahead, static_cast<int>(count), sums);
    const Matrix<const float> out = net_.output();
    const auto classes = static_cast<std::size_t>(out.cols);
    for (std::size_t i = 0; i < rows; ++i) r.correct += argmax({out.row(static_cast<int>(i)), classes}) == y_[i];
  }
  if (!fused) apply_update(lr);
  return r;
}

// Rows idx of a batch of `batch` examples through the network; asks for the rows `ahead` to be
// loaded into cache meanwhile. A small batch without augmentation is written by each core for
// itself (kernels/split.hpp); any other is converted (and distorted) once, here. first_row:
// where idx starts in the chunk the random draws are for.
float Trainer::chunk_step(const Dataset& train, std::span<const std::size_t> idx, std::span<const std::size_t> ahead,
                          int batch, Network<float>::WeightSums sums, int first_row) {
  const int rows = static_cast<int>(idx.size());
  if (!opt_.augment.any() && batch_written_on_each_core(rows)) {
    const auto gather = [&](Matrix<float> X) {
      norm_.gather(train, idx, X);
      train.prefetch(ahead);
    };
    const Batch<float>::Fill fill(gather);
    return net_.train_step(Batch<float>(rows, train.features(), fill), y_, batch, sums, first_row);
  }
  fill_batch(train, idx, first_row);
  train.prefetch(ahead);
  return net_.train_step(X_.view(), y_, batch, sums, first_row);
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

std::vector<EpochReport> Trainer::fit(const Dataset& train, const Dataset* test, const OnReport& on_report,
                                      const Progress& progress, const Dataset* val, const Pause& pause) {
  if (train.features() != net_.arch().inputs())
    throw Error(fmt::format("the data has {} values per example but the network's input size is {}", train.features(),
                            net_.arch().inputs()));
  const bool stopping = opt_.early_stop > 0 && val && val->size() > 0;
  while (!finished()) {
    if (st_.batch == 0) begin_epoch(train.size());
    if (!run_batches(train, progress, pause)) break;
    EpochReport r = end_epoch(train);
    const int e = r.epoch;
    st_.seconds += r.seconds;
    bool stop = false;
    if (stopping) {
      r.val_accuracy = accuracy(*val);
      if (*r.val_accuracy > st_.best_val) {
        st_.best_val = *r.val_accuracy;
        st_.best_epoch = e;
        st_.best_layers = net_.layers;
      }
      stop = e - st_.best_epoch >= opt_.early_stop;
    }
    if (e % opt_.report_every == 0 || e == opt_.epochs || stop) {
      r.seconds = st_.seconds;
      st_.seconds = 0;
      if (val && val->size() > 0 && !r.val_accuracy) r.val_accuracy = accuracy(*val);
      // The best epoch's weights, before the test set is scored.
      if (stop || (stopping && e == opt_.epochs)) net_.layers = st_.best_layers;
      if (test && test->size() > 0) r.test_accuracy = accuracy(*test);
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
  s.augment_rng = augment_rng_.state();
  s.dropout_rng = net_.dropout_rng().state();
  s.optimizer = optimizer_.state();
  return s;
}

void Trainer::restore(TrainerState s, std::size_t examples) {
  if (s.epoch < 0 || s.epoch > opt_.epochs || (s.batch > 0 && s.order.size() != examples) ||
      s.batch > batches(examples) || (s.epoch == 0 && s.batch > 0))
    throw Error("the saved training state does not fit this run (its epoch, batch or data size differ)");
  for (std::size_t i : s.order)
    if (i >= examples) throw Error("the saved training state does not fit this run (an example index is out of range)");
  if (!s.best_layers.empty()) {
    if (s.best_layers.size() != net_.layers.size()) throw Error("the saved best weights do not fit this network");
    for (std::size_t l = 0; l < s.best_layers.size(); ++l)
      if (s.best_layers[l].in() != net_.layers[l].in() || s.best_layers[l].out() != net_.layers[l].out())
        throw Error("the saved best weights do not fit this network");
  }
  optimizer_.restore(std::move(s.optimizer));
  shuffle_rng_.set_state(s.shuffle_rng);
  augment_rng_.set_state(s.augment_rng);
  net_.dropout_rng().set_state(s.dropout_rng);
  st_ = std::move(s);
  epoch_seconds_ = 0;
}

void Trainer::share(Sharing sharing) {
  if (sharing.micro_batch < 1 || sharing.micro_batch > static_cast<int>(kChunk))
    throw Error(fmt::format("--micro-batch: {} is not a whole number from 1 to {}", sharing.micro_batch, kChunk));
  sharing_ = std::move(sharing);
}

// What the processes sum for a batch, as one buffer: each layer's dWt and db, then the batch's
// loss, its right answers and the votes to stop.
namespace {
constexpr std::size_t kLoss = 0, kCorrect = 1, kStop = 2, kStats = 3;

std::size_t gradient_size(const Network<float>& net) {
  std::size_t n = 0;
  for (const auto& layer : net.layers) n += layer.dWt.size() + layer.db.size();
  return n;
}

template <class T>
void pack_gradients(const Network<float>& net, T* out) {
  for (const auto& layer : net.layers) {
    out = std::copy(layer.dWt.storage.begin(), layer.dWt.storage.end(), out);
    out = std::copy(layer.db.storage.begin(), layer.db.storage.end(), out);
  }
}

template <class T>
void unpack_gradients(const T* in, Network<float>& net) {
  for (auto& layer : net.layers) {
    for (float& g : layer.dWt.storage) g = static_cast<float>(*in++);
    for (float& g : layer.db.storage) g = static_cast<float>(*in++);
  }
}
}  // namespace

std::size_t Trainer::count_correct(std::span<const std::size_t> idx) {
  const Matrix<const float> out = net_.output();
  const auto classes = static_cast<std::size_t>(out.cols);
  std::size_t correct = 0;
  for (std::size_t i = 0; i < idx.size(); ++i) correct += argmax({out.row(static_cast<int>(i)), classes}) == y_[i];
  return correct;
}

// A chunk another process takes: its random draws are skipped, so every process draws the
// same for the same rows.
void Trainer::skip_chunk() {
  if (opt_.augment.any()) augment_rng_.next();
  net_.skip_train_step();
}

// Reduction::ordered: the batch in chunks as alone, this process taking its share of each
// chunk (with the chunk's random draws); the shares' gradients are summed by comm in its
// fixed order, and every process applies the same update.
Trainer::BatchResult Trainer::ordered_batch(const Dataset& train, std::size_t first, std::size_t count, double lr) {
  const std::size_t R = sharing_.comm->size(), me = sharing_.comm->rank();
  const std::span<const std::size_t> order(st_.order);
  // This process's share of the rows [begin, begin + rows) of the order.
  const auto share = [&](std::size_t begin, std::size_t rows) {
    const auto [r0, r1] = even_share(rows, me, R);
    return order.subspan(begin + r0, r1 - r0);
  };
  float loss = 0;
  std::size_t correct = 0;
  bool any = false;
  for (std::size_t c0 = 0; c0 < count; c0 += kChunk) {
    const std::size_t rows = std::min(kChunk, count - c0);
    const auto idx = share(first + c0, rows);
    if (idx.empty()) {
      skip_chunk();
      continue;
    }
    // this process's rows of the next chunk, of this batch or of the next one
    const std::size_t next = first + c0 + rows, left = order.size() - next;
    const auto ahead = c0 + rows < count ? share(next, std::min(kChunk, count - c0 - rows))
                                         : share(next, std::min({kChunk, count, left}));
    y_.resize(idx.size());
    for (std::size_t i = 0; i < idx.size(); ++i) y_[i] = train.labels[idx[i]];
    const int first_row = static_cast<int>(idx.data() - order.data() - (first + c0));
    loss += chunk_step(train, idx, ahead, static_cast<int>(count), Network<float>::gradients(any), first_row);
    correct += count_correct(idx);
    any = true;
  }
  const std::size_t G = gradient_size(net_);
  shared_.resize(G + kStats);
  if (any) pack_gradients(net_, shared_.data());
  else std::fill(shared_.begin(), shared_.begin() + static_cast<std::ptrdiff_t>(G), 0.0f);
  float* stats = shared_.data() + G;
  stats[kLoss] = loss;
  stats[kCorrect] = static_cast<float>(correct);  // whole numbers below 2^24: exact
  stats[kStop] = sharing_.stop && sharing_.stop() ? 1.0f : 0.0f;
  sharing_.comm->sum(std::span<float>(shared_));
  unpack_gradients(shared_.data(), net_);
  stop_agreed_ = stats[kStop] > 0;
  apply_update(lr);
  return {stats[kLoss], static_cast<std::size_t>(stats[kCorrect])};
}

// Reduction::exact: the batch in micro-batches of a fixed size, whole ones to each process
// (contiguous runs of them, in order). Each micro-batch's gradient is rounded onto a grid
// 2^spread coarser than its own largest value needs (add_on_grid); while the largest values of
// all micro-batches lie within 2^spread of each other, every sum on those grids is exact, so
// the order of the additions (and the number of processes) cannot change a bit. If they do
// not (checked across processes), the batch is computed again on the grid of the largest,
// with the same draws. With spread 16 a term keeps 52 - 16 - ceil(log2 micro-batches) bits:
// float's 24 for up to 2^12 micro-batches.

Trainer::BatchResult Trainer::exact_batch(const Dataset& train, std::size_t first, std::size_t count, double lr) {
  const std::size_t R = sharing_.comm->size(), me = sharing_.comm->rank();
  const auto m = static_cast<std::size_t>(sharing_.micro_batch);
  const std::size_t M = (count + m - 1) / m;
  // this process's micro-batches (plain names: clang 14's lambdas cannot capture a binding)
  const std::pair<std::size_t, std::size_t> mine = even_share(M, me, R);
  const std::size_t k0 = mine.first, k1 = mine.second;
  const int spread = sharing_.exact_spread;
  const std::span<const std::size_t> order(st_.order);
  // The segments rounded on their own grids: each layer's dWt and db, and the loss.
  std::vector<std::span<float>> segments;
  for (auto& layer : net_.layers) {
    segments.emplace_back(layer.dWt.storage.data(), layer.dWt.size());
    segments.emplace_back(layer.db.storage.data(), layer.db.size());
  }
  const std::size_t S = segments.size() + 1, G = gradient_size(net_);
  // Per segment, over this process's micro-batches: the largest exponent, and minus the
  // smallest of those that are not all zero (so that one max() finds both).
  std::vector<int> range(2 * S);
  const Rng::State augment_at = augment_rng_.state(), dropout_at = net_.dropout_rng().state();
  std::size_t correct = 0;
  // One pass over the batch: grid < kAllZero: each micro-batch on its own grid; else this grid.
  const auto pass = [&](const std::vector<int>* grid) {
    std::fill(range.begin(), range.begin() + static_cast<std::ptrdiff_t>(S), kAllZero);
    std::fill(range.begin() + static_cast<std::ptrdiff_t>(S), range.end(), kAllZero);
    exact_.assign(G + kStats, 0.0);
    correct = 0;
    for (std::size_t k = 0; k < M; ++k) {
      if (k < k0 || k >= k1) {
        skip_chunk();
        continue;
      }
      const std::size_t begin = first + k * m, rows = std::min(m, count - k * m);
      const auto idx = order.subspan(begin, rows);
      const auto ahead = order.subspan(begin + rows, std::min(m, order.size() - begin - rows));
      y_.resize(rows);
      for (std::size_t i = 0; i < rows; ++i) y_[i] = train.labels[idx[i]];
      float loss = chunk_step(train, idx, ahead, static_cast<int>(count), Network<float>::gradients(false));
      correct += count_correct(idx);
      double* sums = exact_.data();
      for (std::size_t s = 0; s < S; ++s) {
        const std::span<const float> seg = s + 1 < S ? segments[s] : std::span<const float>(&loss, 1);
        const int e = exponent_bound(seg);
        if (e != kAllZero) {
          range[s] = std::max(range[s], e);
          range[S + s] = std::max(range[S + s], e >= kNotFinite ? kAllZero : -e);
        }
        add_on_grid(seg, grid ? (*grid)[s] : (e >= kNotFinite ? e : e + spread), static_cast<long>(M),
                    {sums, seg.size()});
        sums += seg.size();
      }
    }
  };
  pass(nullptr);
  sharing_.comm->max(std::span<int>(range));
  bool apart = false;  // some segment's micro-batches lie too far apart for their own grids
  for (std::size_t s = 0; s < S; ++s)
    apart = apart || (range[s] != kAllZero && range[s] < kNotFinite && range[s] + range[S + s] > spread);
  if (apart) {
    augment_rng_.set_state(augment_at);
    net_.dropout_rng().set_state(dropout_at);
    const std::vector<int> top(range.begin(), range.begin() + static_cast<std::ptrdiff_t>(S));
    pass(&top);
  }
  double* stats = exact_.data() + G;
  stats[kCorrect] = static_cast<double>(correct);
  stats[kStop] = sharing_.stop && sharing_.stop() ? 1.0 : 0.0;
  sharing_.comm->sum(std::span<double>(exact_));
  unpack_gradients(exact_.data(), net_);
  stop_agreed_ = stats[kStop] > 0;
  apply_update(lr);
  return {static_cast<float>(stats[kLoss]), static_cast<std::size_t>(stats[kCorrect])};
}

void Trainer::set_epochs(int epochs) {
  if (epochs < st_.epoch) throw Error(fmt::format("--epochs: the run has already begun epoch {}", st_.epoch));
  opt_.epochs = epochs;
  check_options(opt_);
}

}  // namespace digitnet
