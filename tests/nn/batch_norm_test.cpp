// Batch normalization against PyTorch's BatchNorm1d in float64 (tests/reference/batch_norm.npz,
// written by generate.py): the training forward, the loss, every gradient, the running
// statistics after the step, and inference (folded into the layers) after an SGD step.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "digitnet/data/npz.hpp"
#include "digitnet/nn/batch_norm.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/trainer.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

template <class T>
std::vector<double> doubles(Matrix<T> m) {
  std::vector<double> v;
  for (int r = 0; r < m.rows; ++r)
    for (int c = 0; c < m.cols; ++c) v.push_back(m(r, c));
  return v;
}

template <class T>
void check(double tol) {
  const NpzArchive ref = read_npz(test::reference_path("batch_norm.npz"));
  const auto at = [&](const std::string& k) { return ref.at(k).to_doubles(); };
  Network<T> net({{30, 16, 12, 10}, Activation::relu, Loss::cross_entropy, /*batch_norm=*/true});
  for (int l = 0; l < 3; ++l) {
    const auto w = at(fmt::format("w{}", l + 1)), b = at(fmt::format("b{}", l + 1));
    net.layers[l].set_W(std::vector<T>(w.begin(), w.end()));
    net.layers[l].set_b(std::vector<T>(b.begin(), b.end()));
    ASSERT_EQ(net.layers[l].normalized(), l < 2);
    if (l < 2) {
      const auto g = at(fmt::format("gamma{}", l + 1)), be = at(fmt::format("beta{}", l + 1));
      std::copy(g.begin(), g.end(), net.layers[l].gamma.values().begin());
      std::copy(be.begin(), be.end(), net.layers[l].beta.values().begin());
    }
  }
  const auto xd = at("x"), yd = at("y");
  Tensor<T> X(8, 30);
  X.storage.assign(xd.begin(), xd.end());
  const std::vector<int> y(yd.begin(), yd.end());
  const T loss = net.forward_backward(X.view(), y);
  EXPECT_NEAR(loss, at("loss")[0], tol);
  EXPECT_LE(test::rel_error(doubles(net.logits()), at("logits")), tol) << "logits";
  EXPECT_LE(test::rel_error(doubles(net.output()), at("output")), tol) << "output";
  for (int l = 0; l < 3; ++l) {
    const auto dW = net.layers[l].dW();
    EXPECT_LE(test::rel_error(std::vector<double>(dW.begin(), dW.end()), at(fmt::format("dw{}", l + 1))), tol) << l;
    if (l == 2)  // (before a normalization, a bias's gradient is 0 up to rounding: compared absolutely)
      EXPECT_LE(test::rel_error(doubles(net.layers[l].db), at(fmt::format("db{}", l + 1))), tol) << l;
    else
      for (double v : doubles(net.layers[l].db)) EXPECT_NEAR(v, 0.0, tol);
  }
  for (int l = 0; l < 2; ++l) {
    EXPECT_LE(test::rel_error(doubles(net.layers[l].dgamma), at(fmt::format("dgamma{}", l + 1))), tol) << l;
    EXPECT_LE(test::rel_error(doubles(net.layers[l].dbeta), at(fmt::format("dbeta{}", l + 1))), tol) << l;
  }
  net.update_batch_statistics(8);
  for (int l = 0; l < 2; ++l) {
    EXPECT_LE(test::rel_error(doubles(net.layers[l].running_mean), at(fmt::format("mean{}_after", l + 1))), tol);
    EXPECT_LE(test::rel_error(doubles(net.layers[l].running_var), at(fmt::format("var{}_after", l + 1))), tol);
  }
  // one plain SGD step of every parameter (gamma and beta too), then inference on the batch
  const auto p = net.layers.parameters();
  const auto g = net.layers.gradients();
  for (std::size_t i = 0; i < p.size(); ++i) p[i] -= T(0.1) * g[i];
  net.weights_changed();
  EXPECT_LE(test::rel_error(doubles(net.forward(X.view())), at("eval_output")), tol) << "inference";
}

TEST(BatchNorm, DoubleMatchesPyTorchTo1e9) { check<double>(1e-9); }
TEST(BatchNorm, FloatMatchesPyTorchTo1e4) { check<float>(1e-4); }

// The same training steps on one core and on several: the same bits.
TEST(BatchNorm, SameBitsOnAnyCoreCount) {
  const Dataset data = test::synthetic(64, 28, 28, 3);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    const Recipe r{
        .layers = {784, 64, 32, 10}, .batch_norm = "on", .optimizer = "adam", .lr = 0.01, .batch = 16, .epochs = 2};
    Network<float> net = new_network(r);
    const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
    Trainer(net, norm, r).fit(data, nullptr);
    runs.emplace_back(net.layers.values().begin(), net.layers.values().end());
  }
  set_threads(0);
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_EQ(runs[0], runs[2]);
}

}  // namespace
}  // namespace digitnet
