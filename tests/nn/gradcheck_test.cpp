// Backpropagation checked against central finite differences, for every hidden
// activation x loss x depth, with and without dropout and batch normalization (docs/math.md
// gives the formulas).
#include <gtest/gtest.h>

#include "test_support.hpp"

#include "digitnet/nn/network.hpp"

namespace digitnet {
namespace {

struct GradCase {
  Activation act;
  Loss loss;
  std::vector<int> sizes;
  double dropout = 0;    // on every hidden layer; the same mask for every evaluation
  double smoothing = 0;  // label smoothing (ce only)
  bool batch_norm = false;
};

class GradCheck : public ::testing::TestWithParam<GradCase> {};

TEST_P(GradCheck, BackpropMatchesFiniteDifferences) {
  const GradCase& c = GetParam();
  Network<double> net({c.sizes, c.act, c.loss, c.batch_norm});
  net.set_label_smoothing(c.smoothing);
  Rng rng(7);
  net.init({Init::normal, 0.7}, rng);
  for (auto& layer : net.layers) {
    for (auto& b : layer.b.values()) b = 0.3 * rng.normal();  // non-zero biases exercise db
    if (layer.normalized())
      for (auto* t : {&layer.gamma, &layer.beta})
        for (auto& v : t->values()) v = (t == &layer.gamma ? 1.0 : 0.0) + 0.3 * rng.normal();
  }
  const int batch = 4;
  Tensor<double> X(batch, c.sizes.front());
  for (auto& x : X.storage) x = rng.normal();
  std::vector<int> y(batch);
  for (auto& v : y) v = static_cast<int>(rng.below(c.sizes.back()));

  // The same draw for each pass gives the same dropout masks, so the loss is a fixed function.
  if (c.dropout > 0) net.set_dropout({c.dropout});
  const auto loss = [&] { return net.forward_backward(X.view(), y, /*draw=*/11); };
  loss();
  std::vector<std::vector<double>> dW, db, dgamma, dbeta;
  for (auto& layer : net.layers) {
    dW.push_back(test::values(layer.dWt));
    db.push_back(test::values(layer.db));
    dgamma.push_back(layer.normalized() ? test::values(layer.dgamma) : std::vector<double>{});
    dbeta.push_back(layer.normalized() ? test::values(layer.dbeta) : std::vector<double>{});
  }
  const double h = 1e-6;
  const auto numeric = [&](double& param) {
    const double saved = param;
    param = saved + h;
    const double up = loss();
    param = saved - h;
    const double down = loss();
    param = saved;
    return (up - down) / (2 * h);
  };
  double worst = 0;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    for (std::size_t i = 0; i < dW[l].size(); ++i) {
      const double num = numeric(net.layers[l].Wt.values()[i]);
      worst = std::max(worst, std::abs(num - dW[l][i]) / std::max(1e-3, std::abs(num)));
    }
    for (std::size_t i = 0; i < db[l].size(); ++i) {
      const double num = numeric(net.layers[l].b.values()[i]);
      // with batch normalization the bias before it has no effect: its gradient is 0 up to rounding
      worst = std::max(worst, std::abs(num - db[l][i]) / std::max(1e-3, std::abs(num)));
    }
    for (std::size_t i = 0; i < dgamma[l].size(); ++i) {
      const double num_g = numeric(net.layers[l].gamma.values()[i]), num_b = numeric(net.layers[l].beta.values()[i]);
      worst = std::max(worst, std::abs(num_g - dgamma[l][i]) / std::max(1e-3, std::abs(num_g)));
      worst = std::max(worst, std::abs(num_b - dbeta[l][i]) / std::max(1e-3, std::abs(num_b)));
    }
  }
  EXPECT_LT(worst, 1e-5);
}

std::vector<GradCase> all_cases() {
  std::vector<GradCase> cases;
  for (Activation a : {Activation::relu, Activation::sigmoid, Activation::tanh})
    for (Loss l : {Loss::cross_entropy, Loss::mse})
      for (const auto& sizes : std::vector<std::vector<int>>{{6, 4}, {6, 5, 4}, {6, 5, 4, 3}, {7, 6, 5, 4, 3}})
        cases.push_back({a, l, sizes});
  for (Activation a : {Activation::relu, Activation::sigmoid, Activation::tanh})
    for (Loss l : {Loss::cross_entropy, Loss::mse})
      for (const auto& sizes : std::vector<std::vector<int>>{{6, 8, 4}, {6, 8, 7, 3}})
        cases.push_back({a, l, sizes, 0.5});
  for (const auto& sizes : std::vector<std::vector<int>>{{6, 4}, {6, 8, 7, 3}})
    cases.push_back({Activation::relu, Loss::cross_entropy, sizes, 0.5, 0.2});
  for (Activation a : {Activation::relu, Activation::sigmoid, Activation::tanh})
    for (Loss l : {Loss::cross_entropy, Loss::mse})
      for (const auto& sizes : std::vector<std::vector<int>>{{6, 5, 4}, {7, 6, 5, 4, 3}})
        cases.push_back({a, l, sizes, 0, 0, true});
  cases.push_back({Activation::relu, Loss::cross_entropy, {6, 8, 7, 3}, 0.5, 0.2, true});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(AllCombinations, GradCheck, ::testing::ValuesIn(all_cases()), [](const auto& test) {
  return to_string(test.param.act) + "_" + to_string(test.param.loss) + "_depth" +
         std::to_string(test.param.sizes.size() - 1) + (test.param.dropout > 0 ? "_dropout" : "") +
         (test.param.smoothing > 0 ? "_smoothing" : "") + (test.param.batch_norm ? "_batchnorm" : "");
});

}  // namespace
}  // namespace digitnet
