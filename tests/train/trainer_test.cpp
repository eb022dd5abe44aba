// The training loop: it learns, it is reproducible, and it stops loudly on divergence.
#include <atomic>
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/sgd.hpp"
#include "digitnet/train/trainer.hpp"
#include "kernels/gemm.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// The first n examples of data as network inputs (n x features).
Tensor<float> first_inputs(const Dataset& data, const Normalizer& norm, std::size_t n) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  Tensor<float> X(static_cast<int>(n), data.features());
  norm.gather(data, idx, X.view());
  return X;
}

Network<float> trained(const Dataset& data, const Normalizer& norm, Recipe r) {
  r.layers = {data.features(), 16, 10};
  Network<float> net = new_network(r);
  Trainer(net, norm, r).fit(data, nullptr);
  return net;
}

TEST(Trainer, LearnsASyntheticTask) {
  const Dataset train = test::synthetic(500, 6, 6, 1), heldout = test::synthetic(200, 6, 6, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{36, 16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1, kInitStream);
  net.init(Init{}, rng);
  Trainer trainer(net, norm, test::recipe_for(net, {.lr = 0.1, .batch = 16, .epochs = 5, .seed = 1}));
  const auto history = trainer.fit(train, &heldout);
  ASSERT_EQ(history.size(), 5u);
  EXPECT_LT(history.back().loss, history.front().loss);
  EXPECT_GT(*history.back().test_accuracy, 0.95);
}

TEST(Trainer, SameSeedGivesBitIdenticalWeights) {
  const Dataset train = test::synthetic(300, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  const Recipe r{.lr = 0.05, .batch = 7, .epochs = 3, .seed = 11};
  const auto a = trained(train, norm, r), b = trained(train, norm, r);
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(test::values(a.layers[l].Wt), test::values(b.layers[l].Wt));
    EXPECT_EQ(test::values(a.layers[l].b), test::values(b.layers[l].b));
  }
  auto other = r;
  other.seed = 12;  // other initial weights and another shuffle
  EXPECT_NE(test::values(trained(train, norm, other).layers[0].Wt), test::values(a.layers[0].Wt));
}

TEST(Trainer, LossIsTheMeanPerExample) {
  // One full-batch epoch: the reported loss equals the network's loss on the whole set.
  const Dataset train = test::synthetic(64, 4, 4, 3);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  net.init(Init{}, rng);
  Network<float> copy = net;
  Trainer trainer(net, norm, test::recipe_for(net, {.lr = 0.1, .batch = 0, .epochs = 1, .seed = 1}));
  const double reported = trainer.train_epoch(train).loss;
  const Tensor<float> X = first_inputs(train, norm, 64);
  const std::vector<int> y(train.labels.begin(), train.labels.end());
  EXPECT_NEAR(reported, copy.forward_backward(X.view(), y), 1e-5);
}

TEST(Trainer, DivergenceStopsWithTheEpochAndAHint) {
  const Dataset train = test::synthetic(200, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{25, 16, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  net.init(Init{Init::normal, 10.0}, rng);
  Trainer trainer(net, norm, test::recipe_for(net, {.lr = 1000, .batch = 10, .epochs = 5, .seed = 1}));
  try {
    trainer.fit(train, nullptr);
    FAIL() << "expected the run to diverge";
  } catch (const SettingError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.setting, "lr");
    EXPECT_NE(msg.find("epoch 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("smaller `lr`"), std::string::npos) << msg;
  }
}

// A loss that grows far beyond where it started has diverged, finite or not: the run stops
// before the weights it broke are kept (seed network at lr 1.5 ends as a dead network at 10%).
TEST(Trainer, ALossFarAboveItsStartIsDivergence) {
  const Dataset train = test::synthetic(2000, 28, 28, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  const Recipe r{.lr = 20, .batch = 32, .epochs = 3, .seed = 1};
  Network<float> net = new_network(r);
  Trainer trainer(net, norm, r);
  try {
    trainer.fit(train, nullptr);
    FAIL() << "expected the run to diverge";
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, "lr");
    EXPECT_NE(std::string(e.what()).find("the loss went from"), std::string::npos) << e.what();
  }
  // The same at a learning rate that learns: no false alarm.
  Recipe ok = r;
  ok.lr = 0.1;
  Network<float> fine = new_network(ok);
  EXPECT_NO_THROW(Trainer(fine, norm, ok).fit(train, nullptr));
}

TEST(Trainer, RecipeMustBeTheNetworks) {
  Network<float> net({{24, 10}, Activation::relu, Loss::cross_entropy});
  const Normalizer norm;
  EXPECT_THROW(Trainer(net, norm, Recipe{}), SettingError);  // 784,128,64,10
  EXPECT_NO_THROW(Trainer(net, norm, test::recipe_for(net, {})));
}

TEST(Trainer, RejectsInputSizeMismatch) {
  const Dataset train = test::synthetic(20, 5, 5, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{24, 10}, Activation::relu, Loss::cross_entropy});
  Trainer trainer(net, norm, test::recipe_for(net, {}));
  EXPECT_THROW(trainer.train_epoch(train), Error);
}

}  // namespace
}  // namespace digitnet

namespace digitnet {
namespace {

// The seed network trained for two epochs on 28x28 data: every weight and bias, in one vector.
std::vector<float> seed_network_weights(const Dataset& train, int batch) {
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  const Recipe r{.lr = 0.3, .batch = batch, .epochs = 2, .seed = 4};
  Network<float> net = new_network(r);
  Trainer(net, norm, r).fit(train, nullptr);
  return {net.layers.parameters().begin(), net.layers.parameters().end()};
}

// The same with a thread count and kernels chosen; 640 examples make every product big
// enough to be split between threads.
std::vector<float> seed_network_weights(int threads, bool plain, int batch) {
  set_threads(threads);
  use_plain_kernels(plain);
  auto all = seed_network_weights(test::synthetic(640, 28, 28, 1), batch);
  use_plain_kernels(false);
  set_threads(0);
  return all;
}

TEST(Trainer, WeightsAreBitIdenticalForAnyThreadCount) {
  for (int batch : {32, 0}) {  // 0: full batch, which goes through in chunks
    const auto one = seed_network_weights(1, false, batch);
    EXPECT_EQ(seed_network_weights(2, false, batch), one) << "batch " << batch;
    EXPECT_EQ(seed_network_weights(3, false, batch), one) << "batch " << batch;
    // The default count, which may move small products to one core and back as it goes.
    EXPECT_EQ(seed_network_weights(0, false, batch), one) << "batch " << batch;
  }
}

// The kernels leave out terms whose input is zero (a background border here, and inactive
// ReLUs): every weight ends up as it does with every term computed.
TEST(Trainer, SkippingZeroTermsChangesNoWeight) {
  Dataset train = test::synthetic(640, 28, 28, 1);
  for (std::size_t i = 0; i < train.size(); ++i)
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c)
        if (r < 4 || r >= 24 || c < 4 || c >= 24) train.pixels[i * 784 + r * 28 + c] = 0;
  const auto skipping = seed_network_weights(train, 32);
  use_zero_skipping(false);
  const auto every_term = seed_network_weights(train, 32);
  use_zero_skipping(true);
  EXPECT_EQ(skipping, every_term);
}

// A training step can take its batch as a matrix, or as a way to write it (Batch::Fill),
// called by each core on a copy of its own: the same step either way.
TEST(Trainer, BatchWrittenByEachCoreEqualsOneCopy) {
  const Dataset data = test::synthetic(64, 28, 28, 5);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  std::vector<std::size_t> idx(32);
  std::iota(idx.begin(), idx.end(), 0);
  std::vector<int> labels(data.labels.begin(), data.labels.begin() + 32);
  const Tensor<float> X = first_inputs(data, norm, 32);
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    Network<float> a({{784, 128, 64, 10}, Activation::relu, Loss::cross_entropy}), b = a;
    Rng rng(2, kInitStream);
    a.init(Init{}, rng);
    b.layers = a.layers;
    std::atomic<int> calls{0};
    for (int step = 0; step < 3; ++step) {
      const float la = test::step(a, X.view(), labels, 32, FusedSgd<float>{0.1f});
      const auto gather = [&](Matrix<float> copy, int first) {
        norm.gather(data, idx, copy, first);
        ++calls;
      };
      const Batch<float>::Fill fill(gather);
      const float lb = test::step(b, Batch<float>(32, 784, fill), labels, 32, FusedSgd<float>{0.1f});
      EXPECT_EQ(la, lb);
    }
    EXPECT_GE(calls, 3);
    for (std::size_t l = 0; l < a.layers.size(); ++l)
      EXPECT_EQ(test::values(a.layers[l].Wt), test::values(b.layers[l].Wt));
  }
  set_threads(0);
}

TEST(Trainer, SimdPathEqualsPlainPathBitForBit) {
  const auto targets = simd_targets();
  const bool fma = !targets.empty() && (targets.front().second.starts_with("AVX") || targets.front().second == "NEON" ||
                                        targets.front().second.starts_with("SVE"));
  if (!fma) GTEST_SKIP() << "no FMA on this CPU (" << simd_target() << "): SIMD and plain agree only closely";
  EXPECT_EQ(seed_network_weights(2, false, 32), seed_network_weights(1, true, 32));
}

TEST(Trainer, ChunkedGradientsEqualOnePass) {
  const Dataset data = test::synthetic(100, 28, 28, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  Network<float> a({{784, 32, 10}, Activation::tanh, Loss::mse});
  Rng rng(1);
  a.init(Init{}, rng);
  Network<float> b = a;
  const Tensor<float> X = first_inputs(data, norm, 100);
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  a.forward_backward(X.view(), y);
  test::step(b, X.view().rows_view(0, 37), std::span(y).first(37), 100, Network<float>::gradient_sums(false));
  test::step(b, X.view().rows_view(37, 63), std::span(y).subspan(37), 100, Network<float>::gradient_sums(true), 37);
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(test::values(a.layers[l].dWt), test::values(b.layers[l].dWt));
    EXPECT_EQ(test::values(a.layers[l].db), test::values(b.layers[l].db));
  }
}

TEST(Trainer, FusedSgdStepEqualsGradientThenStep) {
  const Dataset data = test::synthetic(32, 28, 28, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  Network<float> a({{784, 128, 64, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  a.init(Init{}, rng);
  Network<float> b = a;
  const Tensor<float> X = first_inputs(data, norm, 32);
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  a.forward_backward(X.view(), y);
  for (auto& layer : a.layers) sgd_step(layer, 0.1f);
  test::step(b, X.view(), y, 32, FusedSgd<float>{0.1f});
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(test::values(a.layers[l].Wt), test::values(b.layers[l].Wt));
    EXPECT_EQ(test::values(a.layers[l].b), test::values(b.layers[l].b));
  }
}

}  // namespace
}  // namespace digitnet

namespace digitnet {
namespace {

TEST(Dropout, ScalesKeptUnitsAndIsOffAtInference) {
  const Dataset data = test::synthetic(64, 6, 6, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  Network<float> plain({{36, 200, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  plain.init(Init{}, rng);
  Network<float> dropped = plain;
  dropped.set_dropout({0.5});
  const Tensor<float> X = first_inputs(data, norm, 64);
  // Inference ignores dropout.
  const auto a = plain.forward(X.view());
  const std::vector<float> pa(a.data, a.data + a.size());
  const auto b = dropped.forward(X.view());
  EXPECT_EQ(std::vector<float>(b.data, b.data + b.size()), pa);
  // Training: about half of the hidden units get no gradient, the rest are scaled by 2.
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  dropped.forward_backward(X.view(), y, /*draw=*/7);
  std::size_t dead = 0;
  for (int j = 0; j < 200; ++j) dead += dropped.layers[1].dWt(j, 0) == 0.0f && dropped.layers[1].dWt(j, 1) == 0.0f;
  EXPECT_GT(dead, 0u);
  EXPECT_THROW(dropped.set_dropout({1.0}), SettingError);
  EXPECT_THROW(dropped.set_dropout({0.1, 0.2}), SettingError);
}

TEST(Trainer, EarlyStoppingKeepsTheBestEpochsWeights) {
  const Dataset train = test::synthetic(300, 6, 6, 1), val = test::synthetic(100, 6, 6, 9);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Recipe r{.layers = {36, 32, 10}, .lr = 0.5, .val = 0.1, .batch = 16, .epochs = 30, .seed = 3, .early_stop = 3};
  Network<float> net = new_network(r);
  Trainer trainer(net, norm, r);
  const auto history = trainer.fit(train, nullptr, {}, {}, &val);
  const int best = trainer.best_epoch();
  ASSERT_GT(best, 0);
  double best_val = 0;
  for (const auto& report : history) best_val = std::max(best_val, *report.val_accuracy);
  EXPECT_DOUBLE_EQ(trainer.accuracy(val), best_val);
  // The same run stopped after `best` epochs has exactly these weights.
  r.epochs = best;
  r.early_stop = 0;
  Network<float> again = new_network(r);
  Trainer(again, norm, r).fit(train, nullptr);
  EXPECT_TRUE(
      std::equal(net.layers.parameters().begin(), net.layers.parameters().end(), again.layers.parameters().begin()));
}

TEST(Trainer, EveryOptimizerAndRegulariserLearns) {
  const Dataset train = test::synthetic(400, 28, 28, 1), t = test::synthetic(100, 28, 28, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  for (const std::string kind : {"sgd", "momentum", "nesterov", "adam", "adamw"}) {
    const Recipe r{.layers = {784, 32, 10},
                   .optimizer = kind,
                   .lr = kind.starts_with("adam") ? 0.003 : 0.05,
                   .weight_decay = 0.01,
                   .schedule = "cosine",
                   .dropout = {0.2},
                   .l2 = 1e-4,
                   .clip_norm = 5,
                   .batch = 32,
                   .epochs = 3,
                   .seed = 1};
    Network<float> net = new_network(r);
    const auto h = Trainer(net, norm, r).fit(train, &t);
    EXPECT_GT(*h.back().test_accuracy, 0.9) << kind;
  }
}

}  // namespace
}  // namespace digitnet

namespace digitnet {
namespace {

// Blocks of rows shared between cores give every example the probabilities of one forward pass.
TEST(Predict, BlocksAndThreadsGiveTheSameProbabilities) {
  const Dataset data = test::synthetic(1000, 28, 28, 3);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  Network<float> net({{784, 64, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(1);
  net.init(Init{}, rng);
  const Tensor<float> X = first_inputs(data, norm, data.size());
  const Matrix<const float> once = net.forward(X.view());
  const AlignedVector<float> expected(once.data, once.data + once.size());
  for (int threads : {1, 2, 3})
    for (int batch : {1, 100, 128, 1000}) {
      set_threads(threads);
      const Predictions p = predict_dataset(net, norm, data, batch);
      EXPECT_EQ(p.probs.storage, expected) << threads << " threads, batch " << batch;
    }
  set_threads(0);
}

// Augmentation and dropout masks are drawn per image (per row), so threads cannot change them;
// 256 x 300 hidden units is large enough for the masks to be split between threads.
TEST(Trainer, AugmentedAndDroppedTrainingIsTheSameForAnyThreadCount) {
  const Dataset train = test::synthetic(600, 28, 28, 1);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  std::vector<AlignedVector<float>> weights;
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    const Recipe r{.layers = {784, 300, 10},
                   .lr = 0.1,
                   .dropout = {0.3},
                   .augment = "shift:2,rotate:10,elastic,flip",
                   .batch = 256,
                   .epochs = 2,
                   .seed = 1};
    Network<float> net = new_network(r);
    Trainer(net, norm, r).fit(train, nullptr);
    weights.emplace_back(net.layers.parameters().begin(), net.layers.parameters().end());
  }
  set_threads(0);
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_EQ(weights[0], weights[2]);
}

}  // namespace
}  // namespace digitnet
