#include "digitnet/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/sgd.hpp"
#include "kernels/split.hpp"

namespace digitnet {
namespace {
constexpr std::size_t kChunk = 256;  // rows per pass through the network: their activations stay in cache
constexpr std::uint64_t kAugmentStream = 5;
}  // namespace

void check_options(const TrainOptions& o) {
  if (o.epochs < 1) throw Error("--epochs: must be at least 1");
  if (o.batch < 0) throw Error("--batch: must be a positive number or 'full'");
  if (!(o.lr > 0) || !std::isfinite(o.lr)) throw Error("--lr: must be a positive number");
  if (o.report_every < 1) throw Error("--report-every: must be at least 1");
  if (o.early_stop < 0) throw Error("--early-stop: must not be negative");
  const OptimizerConfig& c = o.optimizer;
  for (double v : {c.momentum_factor, c.beta1, c.beta2})
    if (!(v >= 0 && v < 1)) throw Error("--momentum, --beta1 and --beta2 must be in [0, 1)");
  if (!(c.eps > 0) || c.weight_decay < 0 || o.l2 < 0 || o.clip_norm < 0 || o.schedule.warmup_epochs < 0)
    throw Error("--eps must be positive; --weight-decay, --l2, --clip-norm and --warmup must not be negative");
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
void Trainer::fill_batch(const Dataset& train, std::span<const std::size_t> idx) {
  X_.resize(static_cast<int>(idx.size()), train.features());
  if (!opt_.augment.any()) return norm_.gather(train, idx, X_.view());
  Normalizer scale;
  scale.pixel_max = norm_.pixel_max;
  scale.gather(train, idx, X_.view());  // [0, 1]
  const std::size_t F = train.features(), n = idx.size();
  const std::uint64_t draw = augment_rng_.next();  // one draw per batch; each image gets its own stream
  const auto images = [&](std::size_t i0, std::size_t i1) {
    for (std::size_t i = i0; i < i1; ++i) {
      Rng rng(draw, kAugmentStream + i);  // the same distortions whatever thread takes the image
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

EpochReport Trainer::train_epoch(const Dataset& train, const Progress& progress) {
  if (train.features() != net_.arch().inputs())
    throw Error(fmt::format("the data has {} values per example but the network's input size is {}", train.features(),
                            net_.arch().inputs()));
  ++epoch_;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = train.size();
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  shuffle_rng_.shuffle(std::span<std::size_t>(order_));

  const std::size_t batch = opt_.batch == 0 ? n : static_cast<std::size_t>(opt_.batch);
  const std::size_t batches = (n + batch - 1) / batch;
  const std::size_t tick = std::max<std::size_t>(1, batches / 100);
  double loss_sum = 0, lr = opt_.lr;
  std::size_t correct = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    const std::size_t first = b * batch, count = std::min(batch, n - first);
    lr = scheduled_lr(opt_.schedule, opt_.lr, double(epoch_ - 1) + double(b) / double(batches), opt_.epochs);
    const BatchResult r = train_batch(train, first, count, lr);
    if (!std::isfinite(r.loss))
      throw Error(fmt::format("epoch {}: the loss became {} (training diverged); try a smaller --lr (now {})", epoch_,
                              r.loss, opt_.lr));
    loss_sum += double(r.loss) * double(count);  // batch mean -> sum, so the epoch mean is per example
    correct += r.correct;
    if (progress && (b % tick == 0 || b + 1 == batches)) progress(b + 1, batches);
  }
  // A finite loss can hide weights that overflowed in the last updates.
  for (const auto& layer : net_.layers)
    for (const auto* t : {&layer.Wt, &layer.b})
      for (float w : t->storage)
        if (!std::isfinite(w))
          throw Error(fmt::format("epoch {}: a weight became {} (training diverged); try a smaller --lr (now {})",
                                  epoch_, w, opt_.lr));
  EpochReport r;
  r.epoch = epoch_;
  r.loss = loss_sum / double(n);
  r.train_accuracy = double(correct) / double(n);
  r.lr = lr;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The batch of order_[first, first + count): forward and backward in chunks of at most kChunk
// rows, whose gradients add up to the whole batch's bit for bit, then the optimizer's update.
// Plain SGD on a batch of one chunk takes its step inside the backward pass instead.
Trainer::BatchResult Trainer::train_batch(const Dataset& train, std::size_t first, std::size_t count, double lr) {
  const bool fused = optimizer_.is_plain_sgd() && opt_.l2 == 0 && opt_.clip_norm == 0 && count <= kChunk;
  const FusedSgd<float> sgd{static_cast<float>(lr)};
  BatchResult r;
  const std::span<const std::size_t> order(order_);
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
// itself (kernels/split.hpp); any other is converted (and distorted) once, here.
float Trainer::chunk_step(const Dataset& train, std::span<const std::size_t> idx, std::span<const std::size_t> ahead,
                          int batch, Network<float>::WeightSums sums) {
  const int rows = static_cast<int>(idx.size());
  if (!opt_.augment.any() && batch_written_on_each_core(rows)) {
    const auto gather = [&](Matrix<float> X) {
      norm_.gather(train, idx, X);
      train.prefetch(ahead);
    };
    const Batch<float>::Fill fill(gather);
    return net_.train_step(Batch<float>(rows, train.features(), fill), y_, batch, sums);
  }
  fill_batch(train, idx);
  train.prefetch(ahead);
  return net_.train_step(X_.view(), y_, batch, sums);
}

double Trainer::accuracy(const Dataset& data) {
  const Predictions p = predict_dataset(net_, norm_, data);
  return compute_metrics(data.labels, p.label, net_.arch().classes()).accuracy;
}

std::vector<EpochReport> Trainer::fit(const Dataset& train, const Dataset* test, const OnReport& on_report,
                                      const Progress& progress, const Dataset* val) {
  std::vector<EpochReport> history;
  const bool stopping = opt_.early_stop > 0 && val && val->size() > 0;
  std::vector<Dense<float>> best_layers;
  double best_val = -1;
  double seconds = 0;
  for (int e = 1; e <= opt_.epochs; ++e) {
    EpochReport r = train_epoch(train, progress);
    seconds += r.seconds;
    bool stop = false;
    if (stopping) {
      r.val_accuracy = accuracy(*val);
      if (*r.val_accuracy > best_val) {
        best_val = *r.val_accuracy;
        best_epoch_ = e;
        best_layers = net_.layers;
      }
      stop = e - best_epoch_ >= opt_.early_stop;
    }
    if (e % opt_.report_every != 0 && e != opt_.epochs && !stop) continue;
    r.seconds = seconds;
    seconds = 0;
    if (val && val->size() > 0 && !r.val_accuracy) r.val_accuracy = accuracy(*val);
    if (stop || (stopping && e == opt_.epochs)) {
      net_.layers = best_layers;  // the best epoch's weights, before the test set is scored
    }
    if (test && test->size() > 0) r.test_accuracy = accuracy(*test);
    history.push_back(r);
    if (on_report) on_report(r);
    if (stop) break;
  }
  return history;
}

}  // namespace digitnet
