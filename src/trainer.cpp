#include "digitnet/trainer.hpp"

#include <chrono>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/error.hpp"
#include "digitnet/metrics.hpp"
#include "digitnet/sgd.hpp"

namespace digitnet {
namespace {
constexpr std::size_t kChunk = 256;  // rows per pass through the network
}  // namespace

Trainer::Trainer(Network<float>& net, const Normalizer& norm, TrainOptions options)
    : net_(net), norm_(norm), opt_(options), shuffle_rng_(options.seed, kShuffleStream) {
  if (opt_.epochs < 1) throw Error("--epochs must be at least 1");
  if (opt_.batch < 0) throw Error("--batch must be a positive number or 'full'");
  if (!(opt_.lr > 0) || !std::isfinite(opt_.lr)) throw Error("--lr must be a positive number");
  if (opt_.report_every < 1) opt_.report_every = 1;
}

EpochReport Trainer::train_epoch(const Dataset& train, const Progress& progress) {
  if (train.features() != net_.arch().inputs())
    throw Error(fmt::format("the data has {} values per example but the network's input size is {}",
                            train.features(), net_.arch().inputs()));
  ++epoch_;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t n = train.size();
  order_.resize(n);
  std::iota(order_.begin(), order_.end(), 0);
  shuffle_rng_.shuffle(std::span<std::size_t>(order_));

  const std::size_t batch = opt_.batch == 0 ? n : static_cast<std::size_t>(opt_.batch);
  const std::size_t batches = (n + batch - 1) / batch;
  const std::size_t tick = std::max<std::size_t>(1, batches / 100);
  const int classes = net_.arch().classes();
  double loss_sum = 0;
  std::size_t correct = 0;
  for (std::size_t b = 0; b < batches; ++b) {
    const std::size_t first = b * batch, count = std::min(batch, n - first);
    // Large batches go through in chunks, so a chunk's activations stay in cache; the
    // gradients are bit-identical to one pass over the whole batch.
    float loss = 0;
    for (std::size_t c0 = 0; c0 < count; c0 += kChunk) {
      const std::size_t rows = std::min(kChunk, count - c0);
      const auto idx = std::span<const std::size_t>(order_).subspan(first + c0, rows);
      X_.resize(static_cast<int>(rows), train.features());
      norm_.gather(train, idx, X_.view());
      y_.resize(rows);
      for (std::size_t i = 0; i < rows; ++i) y_[i] = train.labels[idx[i]];
      loss += count <= kChunk ? net_.train_step_sgd(X_.view(), y_, static_cast<float>(opt_.lr))
                              : net_.accumulate_gradients(X_.view(), y_, static_cast<int>(count), c0 == 0);
      const Matrix<const float> out = net_.output();
      for (std::size_t i = 0; i < rows; ++i)
        correct += argmax({out.row(static_cast<int>(i)), static_cast<std::size_t>(classes)}) == y_[i];
    }
    if (!std::isfinite(loss))
      throw Error(fmt::format("epoch {}: the loss became {} (training diverged); try a smaller --lr (now {})", epoch_,
                              loss, opt_.lr));
    loss_sum += double(loss) * double(count);  // batch mean -> sum, so the epoch mean is per example
    if (count > kChunk)
      for (auto& layer : net_.layers) sgd_step(layer, static_cast<float>(opt_.lr));
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
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

double Trainer::accuracy(const Dataset& data) {
  const Predictions p = predict_dataset(net_, norm_, data);
  return compute_metrics(data.labels, p.label, net_.arch().classes()).accuracy;
}

std::vector<EpochReport> Trainer::fit(const Dataset& train, const Dataset* test, const OnReport& on_report,
                                      const Progress& progress) {
  std::vector<EpochReport> history;
  double seconds = 0;
  for (int e = 1; e <= opt_.epochs; ++e) {
    EpochReport r = train_epoch(train, progress);
    seconds += r.seconds;
    if (e % opt_.report_every != 0 && e != opt_.epochs) continue;
    r.seconds = seconds;
    seconds = 0;
    if (test && test->size() > 0) r.test_accuracy = accuracy(*test);
    history.push_back(r);
    if (on_report) on_report(r);
  }
  return history;
}

}  // namespace digitnet
