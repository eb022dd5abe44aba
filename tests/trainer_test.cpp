// The training loop: it learns, it is reproducible, and it stops loudly on divergence.
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/error.hpp"
#include "digitnet/trainer.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

Network<float> trained(const Dataset& data, const Normalizer& norm, TrainOptions opt, std::uint64_t init_seed = 1) {
  Network<float> net({{data.features(), 16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(init_seed, kInitStream);
  net.init(Init{}, rng);
  Trainer(net, norm, opt).fit(data, nullptr);
  return net;
}

TEST(Trainer, LearnsASyntheticTask) {
  const Dataset train = test::synthetic(500, 6, 6, 1), heldout = test::synthetic(200, 6, 6, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{36, 16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1, kInitStream);
  net.init(Init{}, rng);
  Trainer trainer(net, norm, {.epochs = 5, .batch = 16, .lr = 0.1, .seed = 1});
  const auto history = trainer.fit(train, &heldout);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_LT(history.back().loss, history.front().loss);
  EXPECT_GT(*history.back().test_accuracy, 0.95);
}

TEST(Trainer, SameSeedGivesBitIdenticalWeights) {
  const Dataset train = test::synthetic(300, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  const TrainOptions opt{.epochs = 3, .batch = 7, .lr = 0.05, .seed = 11};
  const auto a = trained(train, norm, opt), b = trained(train, norm, opt);
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].Wt.storage, b.layers[l].Wt.storage);
    EXPECT_EQ(a.layers[l].b.storage, b.layers[l].b.storage);
  }
  auto other = opt;
  other.seed = 12;  // a different shuffle
  EXPECT_NE(trained(train, norm, other).layers[0].Wt.storage, a.layers[0].Wt.storage);
}

TEST(Trainer, LossIsTheMeanPerExample) {
  // One full-batch epoch: the reported loss equals the network's loss on the whole set.
  const Dataset train = test::synthetic(64, 4, 4, 3);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  net.init(Init{}, rng);
  Network<float> copy = net;
  Trainer trainer(net, norm, {.epochs = 1, .batch = 0, .lr = 0.1, .seed = 1});
  const double reported = trainer.train_epoch(train).loss;
  Tensor<float> X(64, 16);
  std::vector<std::size_t> idx(64);
  std::iota(idx.begin(), idx.end(), 0);
  norm.gather(train, idx, X.view());
  const std::vector<int> y(train.labels.begin(), train.labels.end());
  EXPECT_NEAR(reported, copy.forward_backward(X.view(), y), 1e-5);
}

TEST(Trainer, DivergenceStopsWithTheEpochAndAHint) {
  const Dataset train = test::synthetic(200, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{25, 16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  net.init(Init{Init::normal, 10.0}, rng);
  Trainer trainer(net, norm, {.epochs = 5, .batch = 10, .lr = 1e30, .seed = 1});
  try {
    trainer.fit(train, nullptr);
    FAIL() << "expected the run to diverge";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("epoch 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("smaller --lr"), std::string::npos) << msg;
  }
}

TEST(Trainer, RejectsInputSizeMismatch) {
  const Dataset train = test::synthetic(20, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{24, 10}, Activation::relu, Loss::cross_entropy});
  Trainer trainer(net, norm, {});
  EXPECT_THROW(trainer.train_epoch(train), Error);
}

}  // namespace
}  // namespace digitnet
