// Twenty steps of the training path against PyTorch (tests/reference/trajectory_*.npz): each
// batch is written from its bytes on every core that reads it, as the trainer does, then one
// step: plain SGD fused into the backward pass, or Adam after it. The loss of every step and
// the final weights must agree, in float64 (to 1e-9) and in float (to 1e-4), on any core count.
#include <numeric>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/data/npz.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/optimizer.hpp"
#include "digitnet/train/sgd.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

constexpr int kSteps = 20, kBatch = 16;

struct Trajectory {
  NpzArchive ref;
  Dataset data;  // the batches' bytes, one after another
  std::vector<int> labels;
};

Trajectory load_trajectory(const std::string& name) {
  Trajectory t{read_npz(test::reference_path(name + ".npz"))};
  const NpyArray& pixels = t.ref.at("pixels");
  t.data.height = t.data.width = 28;
  t.data.pixels = pixels.data;
  const auto y = t.ref.at("y").to_doubles();
  t.data.labels.assign(y.begin(), y.end());
  t.labels.assign(y.begin(), y.end());
  return t;
}

template <class T>
Network<T> starting_network(const NpzArchive& ref) {
  Network<T> net({{784, 64, 32, 10}, Activation::relu, Loss::cross_entropy});
  for (int l = 0; l < 3; ++l) {
    const auto w = ref.at(fmt::format("w{}", l + 1)).to_doubles();
    const auto b = ref.at(fmt::format("b{}", l + 1)).to_doubles();
    net.layers[l].set_W(std::vector<T>(w.begin(), w.end()));
    net.layers[l].set_b(std::vector<T>(b.begin(), b.end()));
  }
  return net;
}

// Runs the 20 steps; `step(net, batch, labels)` takes one and returns its loss.
template <class T, class Step>
Network<T> run(const Trajectory& t, double tol, Step step) {
  Network<T> net = starting_network<T>(t.ref);
  const Normalizer scale;  // pixel / 255
  const auto losses = t.ref.at("losses").to_doubles();
  std::vector<std::size_t> idx(kBatch);
  for (int s = 0; s < kSteps; ++s) {
    std::iota(idx.begin(), idx.end(), std::size_t(s) * kBatch);
    const auto gather = [&](Matrix<T> X, int first) { scale.gather(t.data, idx, X, first); };
    const typename Batch<T>::Fill fill(gather);
    const T loss = step(net, Batch<T>(kBatch, 784, fill), std::span(t.labels).subspan(std::size_t(s) * kBatch, kBatch));
    EXPECT_NEAR(loss, losses[s], tol * losses[s]) << "step " << s + 1;
  }
  return net;
}

template <class T>
void expect_final_weights(const Network<T>& net, const NpzArchive& ref, double tol) {
  for (int l = 0; l < 3; ++l) {
    const auto& layer = net.layers[l];
    const std::vector<T> W = layer.W();
    const std::vector<double> w(W.begin(), W.end()), b(layer.b.values().begin(), layer.b.values().end());
    EXPECT_LE(test::rel_error(w, ref.at(fmt::format("w{}_final", l + 1)).to_doubles()), tol) << "w" << l + 1;
    EXPECT_LE(test::rel_error(b, ref.at(fmt::format("b{}_final", l + 1)).to_doubles()), tol) << "b" << l + 1;
  }
}

template <class T>
Network<T> sgd_trajectory(const Trajectory& t, double tol) {
  return run<T>(t, tol, [](Network<T>& net, const Batch<T>& X, std::span<const int> y) {
    return test::step(net, X, y, kBatch, FusedSgd<T>{T(0.1)});
  });
}

template <class T>
Network<T> adam_trajectory(const Trajectory& t, double tol) {
  std::optional<Optimizer<T>> adam;
  return run<T>(t, tol, [&](Network<T>& net, const Batch<T>& X, std::span<const int> y) {
    if (!adam) adam.emplace(OptimizerConfig{.kind = OptimizerConfig::adam}, net);
    const T loss = test::step(net, X, y, kBatch, Network<T>::gradient_sums(false));
    adam->step(net, 0.001);
    return loss;
  });
}

TEST(Trajectory, FusedSgdFollowsPyTorchFor20Steps) {
  const Trajectory t = load_trajectory("trajectory_sgd");
  expect_final_weights(sgd_trajectory<double>(t, 1e-9), t.ref, 1e-9);
  expect_final_weights(sgd_trajectory<float>(t, 1e-4), t.ref, 1e-4);
}

TEST(Trajectory, AdamFollowsPyTorchFor20Steps) {
  const Trajectory t = load_trajectory("trajectory_adam");
  expect_final_weights(adam_trajectory<double>(t, 1e-9), t.ref, 1e-9);
  expect_final_weights(adam_trajectory<float>(t, 1e-4), t.ref, 1e-4);
}

// The same steps on one core and on several: the same bits.
TEST(Trajectory, SameBitsOnAnyCoreCount) {
  const Trajectory t = load_trajectory("trajectory_sgd");
  set_threads(1);
  const Network<float> one = sgd_trajectory<float>(t, 1e-4);
  set_threads(2);
  const Network<float> two = sgd_trajectory<float>(t, 1e-4);
  set_threads(0);
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(test::values(one.layers[l].Wt), test::values(two.layers[l].Wt));
    EXPECT_EQ(test::values(one.layers[l].b), test::values(two.layers[l].b));
  }
}

}  // namespace
}  // namespace digitnet
