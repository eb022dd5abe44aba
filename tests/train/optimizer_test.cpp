// Every optimizer against PyTorch: three steps each from tests/data/reference/optim_*.npz,
// the state carried from step to step.
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/data/npz.hpp"
#include "digitnet/train/average.hpp"
#include "digitnet/train/optimizer.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

template <class T>
void check(const std::string& name, double tol) {
  SCOPED_TRACE(name);
  std::ifstream in(test::reference_path("optim_cases.json"));
  const auto c = nlohmann::json::parse(in).at(name);
  OptimizerConfig config;
  const bool adam = c.contains("betas");
  if (adam) {
    config.kind = name == "adamw" ? OptimizerConfig::adamw : OptimizerConfig::adam;
    config.beta1 = c["betas"][0];
    config.beta2 = c["betas"][1];
    config.eps = c["eps"];
  } else {
    config.kind = c["nesterov"].get<bool>()         ? OptimizerConfig::nesterov
                  : c["momentum"].get<double>() > 0 ? OptimizerConfig::momentum
                                                    : OptimizerConfig::sgd;
    config.momentum_factor = c["momentum"];
  }
  config.weight_decay = c["weight_decay"];
  const double lr = c["lr"];
  const NpzArchive ref = read_npz(test::reference_path("optim_" + name + ".npz"));
  Network<T> net({{64, 32, 10}, Activation::relu, Loss::cross_entropy});
  for (int l = 0; l < 2; ++l) {
    const auto w = ref.at(fmt::format("w{}", l + 1)).to_doubles(), b = ref.at(fmt::format("b{}", l + 1)).to_doubles();
    net.layers[l].set_W(std::vector<T>(w.begin(), w.end()));
    net.layers[l].set_b(std::vector<T>(b.begin(), b.end()));
  }
  Optimizer<T> opt(config, net);
  for (int s = 1; s <= 3; ++s) {
    const auto x = ref.at(fmt::format("x_step{}", s)).to_doubles(), y = ref.at(fmt::format("y_step{}", s)).to_doubles();
    Tensor<T> X(static_cast<int>(y.size()), 64);
    X.storage.assign(x.begin(), x.end());
    net.forward_backward(X.view(), std::vector<int>(y.begin(), y.end()));
    opt.step(net, lr);
    for (int l = 0; l < 2; ++l) {
      const auto w = net.layers[l].W();
      EXPECT_LE(test::rel_error(std::vector<double>(w.begin(), w.end()),
                                ref.at(fmt::format("w{}_step{}", l + 1, s)).to_doubles()),
                tol)
          << "w" << l + 1 << " step " << s;
      const auto b = net.layers[l].b.values();
      EXPECT_LE(test::rel_error(std::vector<double>(b.begin(), b.end()),
                                ref.at(fmt::format("b{}_step{}", l + 1, s)).to_doubles()),
                tol)
          << "b" << l + 1 << " step " << s;
    }
  }
}

const char* kNames[] = {"sgd", "sgd_momentum", "sgd_nesterov", "sgd_weight_decay", "adam", "adamw"};

TEST(Optimizer, DoubleMatchesPyTorch) {
  for (const char* n : kNames) check<double>(n, 1e-9);
}

TEST(Optimizer, FloatMatchesPyTorch) {
  for (const char* n : kNames) check<float>(n, 1e-4);
}

TEST(Optimizer, NamesParse) {
  EXPECT_EQ(parse_optimizer("adamw"), OptimizerConfig::adamw);
  EXPECT_THROW(parse_optimizer("rmsprop"), Error);
}

// The moving average of the weights (recipe's ema) against AveragedModel (average.npz).
TEST(Average, MatchesPyTorchsAveragedModel) {
  const NpzArchive ref = read_npz(test::reference_path("average.npz"));
  const auto steps = ref.at("steps").to_doubles(), expected = ref.at("average").to_doubles();
  std::vector<double> avg;
  for (std::size_t s = 0; s < 4; ++s) average_update(avg, std::span<const double>(steps).subspan(s * 50, 50), 0.9);
  EXPECT_LE(test::rel_error(avg, expected), 1e-12);
}

}  // namespace
}  // namespace digitnet
