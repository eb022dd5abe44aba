#pragma once
// What the Python estimator holds: a network, its input normaliser, and (while training) a
// Trainer, driven one epoch per call with the GIL released. A Ctrl-C (or any Python signal
// handler that raises) stops an epoch within about 0.1 s; the learner then goes back to the
// state after its last complete epoch, so it stays usable and partial_fit can continue.
// Every method takes the learner's engine lock with the GIL released, so Python threads that
// share a learner (or train several at once) take turns instead of racing.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/numpy.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/onnx.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/recipe.hpp"
#include "digitnet/train/trainer.hpp"

namespace digitnet::python {

namespace py = pybind11;

// One layer's parameters in the model file's layout: W (out, in) row-major, b (out).
struct LayerWeights {
  std::vector<float> W, b;
};

class Learner {
 public:
  // A network of the recipe's layers, activation and loss (the recipe is validated), for
  // images of height x width.
  Learner(const Recipe& recipe, int height, int width);
  Learner(Network<float> net, Normalizer norm, int height, int width);

  // Fresh weights as the recipe draws them (its init and seed), and no trainer.
  void init(const Recipe& recipe);
  void fit_normalizer(const std::string& kind, const py::array& X);
  void set_normalizer(const Normalizer& norm);
  // A new Trainer for the recipe (optimizer state, shuffling, schedule), with its dropout and
  // label smoothing; its network must be this one's.
  void start(const Recipe& recipe);
  bool started() const { return trainer_.has_value(); }
  // One epoch over (X, y), added to history() with the weights it changed (so that a Ctrl-C
  // never leaves one without the other). With check_signals, Python's signal handlers run
  // about every 0.1 s.
  EpochReport train_epoch(const py::array& X, const py::array& y, bool check_signals);
  std::vector<EpochReport> history();
  void set_history(std::vector<EpochReport> h);
  // quantize: "float32" or "int8" (train/quantize.hpp)
  py::array_t<float> predict_proba(const py::array& X, const std::string& quantize = "float32");

  std::vector<LayerWeights> weights();
  void set_weights(const std::vector<LayerWeights>& w);  // sizes checked against the network
  // Every value of the network in one buffer (weights, biases and batch normalization's
  // parameters and running statistics; nn/network.hpp's layout): what a pickle keeps.
  std::vector<float> values();
  void set_values(const std::vector<float>& v);  // its size checked against the network
  void save(const std::string& path, const nlohmann::json& extra);
  void save_onnx(const std::string& path, const OnnxInfo& info);

  // Cores for this learner's work: 0 = one per core (the pool's default). Results do not
  // depend on it.
  void set_threads(int n);
  int threads() const { return threads_; }

  const Architecture& arch() const { return net_->arch(); }  // fixed at construction
  Normalizer normalizer();
  int height() const { return height_; }
  int width() const { return width_; }

 private:
  // The trainer refers to the network and the normaliser: both stay where they are.
  std::unique_ptr<Network<float>> net_;
  std::unique_ptr<Normalizer> norm_;
  std::optional<Trainer> trainer_;
  std::vector<EpochReport> history_;
  int height_, width_;
  std::atomic<int> threads_{0};
};

}  // namespace digitnet::python
