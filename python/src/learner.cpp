#include "learner.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "arrays.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/quantize.hpp"

namespace digitnet::python {
namespace {

// digitnet's thread pool serves one caller at a time: Python threads that train or predict
// at once take turns here, with the GIL released so that other Python code runs meanwhile.
std::mutex engine;

// f() holding the engine with `threads` cores, without the GIL (f must not touch Python
// objects unless it takes the GIL back itself).
template <class F>
auto with_engine(int threads, F&& f) {
  py::gil_scoped_release release;
  std::lock_guard lock(engine);
  digitnet::set_threads(threads);
  return f();
}

struct Interrupted {};  // a Python signal handler raised; its exception is pending in Python

}  // namespace

void Learner::set_threads(int n) {
  if (n < 0) throw py::value_error(fmt::format("n_threads: {} is negative (0 or None = one per core)", n));
  threads_ = n;
}

namespace {
Recipe validated(const Recipe& r) {
  validate(r);
  return r;
}
}  // namespace

Learner::Learner(const Recipe& recipe, int height, int width)
    : net_(std::make_unique<Network<float>>(architecture(validated(recipe)))),
      norm_(std::make_unique<Normalizer>()),
      height_(height),
      width_(width) {
  if (height < 1 || width < 1 || height * width != net_->arch().inputs())
    throw py::value_error(
        fmt::format("image_shape: {}x{} does not hold the network's {} inputs", height, width, net_->arch().inputs()));
}

Learner::Learner(Network<float> net, Normalizer norm, int height, int width)
    : net_(std::make_unique<Network<float>>(std::move(net))),
      norm_(std::make_unique<Normalizer>(std::move(norm))),
      height_(height),
      width_(width) {}

namespace {
// The recipe's network must be the learner's: the same sizes, activation and loss.
void check_same_network(const Recipe& r, const Architecture& a) {
  validate(r);
  const Architecture b = architecture(r);
  if (b.sizes != a.sizes || b.hidden != a.hidden || b.loss != a.loss)
    throw SettingError("layers", fmt::format("the recipe's network {} {}/{} is not the learner's {} {}/{}",
                                             layers_to_string(b.sizes), to_string(b.hidden), to_string(b.loss),
                                             layers_to_string(a.sizes), to_string(a.hidden), to_string(a.loss)));
}
}  // namespace

void Learner::init(const Recipe& recipe) {
  check_same_network(recipe, net_->arch());
  with_engine(threads_, [&] {
    trainer_.reset();
    net_->layers = new_network(recipe).layers;
  });
}

void Learner::fit_normalizer(const std::string& kind, const py::array& X) {
  const Normalizer::Kind k = Normalizer::parse_kind(kind);
  const Dataset d = borrow_features(X, height_, width_);
  with_engine(threads_, [&] {
    trainer_.reset();  // it refers to the normaliser
    *norm_ = Normalizer::fit(k, d);
  });
}

void Learner::set_normalizer(const Normalizer& norm) {
  const auto F = static_cast<std::size_t>(net_->arch().inputs());
  if (!(norm.pixel_max > 0)) throw py::value_error("normaliser: pixel_max must be positive");
  if (norm.kind == Normalizer::zscore && (norm.mean.size() != F || norm.std.size() != F))
    throw py::value_error(fmt::format("normaliser: mean and std need {} values each", F));
  for (float s : norm.std)
    if (!(s > 0)) throw py::value_error("normaliser: std must be positive");
  with_engine(threads_, [&] {
    trainer_.reset();
    *norm_ = norm;
  });
}

void Learner::start(const Recipe& recipe) {
  check_same_network(recipe, net_->arch());
  if (augmentation(recipe).any() && height_ < 2)
    throw SettingError("augment", "needs image data (the examples have no 2-D shape; set image_shape)");
  with_engine(threads_, [&] {
    net_->set_dropout(recipe.dropout);
    net_->set_label_smoothing(recipe.label_smoothing);
    trainer_.emplace(*net_, *norm_, recipe);
  });
}

EpochReport Learner::train_epoch(const py::array& X, const py::array& y, bool check_signals) {
  if (!trainer_) throw py::value_error("the learner has no trainer: call start() first");
  const Dataset d = borrow_labelled(X, y, height_, width_, net_->arch().classes());
  bool interrupted = false;
  const EpochReport r = with_engine(threads_, [&] {
    // The state after the last complete epoch, to go back to if this one stops half-way.
    const Network<float> net_before = *net_;
    const Trainer trainer_before = *trainer_;
    const auto restore = [&] {
      *net_ = net_before;
      trainer_.emplace(trainer_before);
    };
    using Clock = std::chrono::steady_clock;
    Clock::time_point last_check = Clock::now();
    const Trainer::Progress progress = [&](std::size_t, std::size_t) {
      if (!check_signals || Clock::now() - last_check < std::chrono::milliseconds(100)) return;
      last_check = Clock::now();
      py::gil_scoped_acquire gil;
      if (PyErr_CheckSignals() != 0) throw Interrupted{};
    };
    try {
      EpochReport report = trainer_->train_epoch(d, progress);
      history_.push_back(report);
      return report;
    } catch (const Interrupted&) {
      restore();
      interrupted = true;
      return EpochReport{};
    } catch (...) {  // training diverged: the same
      restore();
      throw;
    }
  });
  if (interrupted) throw py::error_already_set();  // the KeyboardInterrupt the handler raised
  return r;
}

py::array_t<float> Learner::predict_proba(const py::array& X, const std::string& quantize) {
  const Dataset d = borrow_features(X, height_, width_);
  const bool int8 = parse_precision(quantize) == Precision::int8;
  const Predictions p = with_engine(threads_, [&] {
    if (!int8) return predict_dataset(*net_, *norm_, d);
    QuantizedNetwork q(*net_, *norm_);
    return predict_dataset(q, d);
  });
  return to_numpy(p.probs.data(), d.size(), static_cast<std::size_t>(net_->arch().classes()));
}

std::vector<LayerWeights> Learner::weights() {
  return with_engine(threads_, [&] {
    std::vector<LayerWeights> w;
    for (const auto& layer : net_->layers) w.push_back({layer.W(), {layer.b.values().begin(), layer.b.values().end()}});
    return w;
  });
}

void Learner::set_weights(const std::vector<LayerWeights>& w) {
  const Architecture& a = net_->arch();
  if (static_cast<int>(w.size()) != a.depth())
    throw py::value_error(fmt::format("weights: {} layers given for a network of {}", w.size(), a.depth()));
  for (int l = 0; l < a.depth(); ++l) {
    const auto out = static_cast<std::size_t>(a.sizes[l + 1]), in = static_cast<std::size_t>(a.sizes[l]);
    if (w[l].W.size() != out * in || w[l].b.size() != out)
      throw py::value_error(fmt::format("weights: layer {} needs W ({}, {}) and b ({})", l + 1, out, in, out));
  }
  with_engine(threads_, [&] {
    trainer_.reset();
    for (int l = 0; l < a.depth(); ++l) {
      net_->layers[l].set_W(w[l].W);
      net_->layers[l].set_b(w[l].b);
    }
  });
}

std::vector<float> Learner::values() {
  return with_engine(threads_, [&] {
    const auto v = net_->layers.values();
    return std::vector<float>(v.begin(), v.end());
  });
}

void Learner::set_values(const std::vector<float>& v) {
  const std::size_t n = net_->layers.values().size();
  if (v.size() != n) throw py::value_error(fmt::format("values: {} given for a network of {}", v.size(), n));
  with_engine(threads_, [&] {
    trainer_.reset();
    std::copy(v.begin(), v.end(), net_->layers.values().begin());
    net_->weights_changed();
  });
}

void Learner::save(const std::string& path, const nlohmann::json& extra) {
  with_engine(threads_, [&] { save_model(path, *net_, *norm_, height_, width_, extra); });
}

void Learner::save_onnx(const std::string& path, const OnnxInfo& info) {
  with_engine(threads_, [&] { digitnet::save_onnx(path, *net_, *norm_, info); });
}

std::vector<EpochReport> Learner::history() {
  return with_engine(threads_, [&] { return history_; });
}

void Learner::set_history(std::vector<EpochReport> h) {
  with_engine(threads_, [&] { history_ = std::move(h); });
}

Normalizer Learner::normalizer() {
  return with_engine(threads_, [&] { return *norm_; });
}

}  // namespace digitnet::python
