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

namespace digitnet {
namespace {

// The seed network trained for two epochs on 28x28 data: every weight and bias, in one vector.
std::vector<float> seed_network_weights(const Dataset& train, int batch) {
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Network<float> net({{784, 128, 64, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(3, kInitStream);
  net.init(Init{}, rng);
  Trainer(net, norm, {.epochs = 2, .batch = batch, .lr = 0.3, .seed = 4}).fit(train, nullptr);
  std::vector<float> all;
  for (const auto& l : net.layers) {
    all.insert(all.end(), l.Wt.storage.begin(), l.Wt.storage.end());
    all.insert(all.end(), l.b.storage.begin(), l.b.storage.end());
  }
  return all;
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
      const float la = a.train_step(X.view(), labels, 32, FusedSgd<float>{0.1f});
      const auto gather = [&](Matrix<float> copy) {
        norm.gather(data, idx, copy);
        ++calls;
      };
      const Batch<float>::Fill fill(gather);
      const float lb = b.train_step(Batch<float>(32, 784, fill), labels, 32, FusedSgd<float>{0.1f});
      EXPECT_EQ(la, lb);
    }
    EXPECT_GE(calls, 3);
    for (std::size_t l = 0; l < a.layers.size(); ++l) EXPECT_EQ(a.layers[l].Wt.storage, b.layers[l].Wt.storage);
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
  b.train_step(X.view().rows_view(0, 37), std::span(y).first(37), 100, Network<float>::gradients(false));
  b.train_step(X.view().rows_view(37, 63), std::span(y).subspan(37), 100, Network<float>::gradients(true));
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].dWt.storage, b.layers[l].dWt.storage);
    EXPECT_EQ(a.layers[l].db.storage, b.layers[l].db.storage);
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
  b.train_step(X.view(), y, 32, FusedSgd<float>{0.1f});
  for (std::size_t l = 0; l < a.layers.size(); ++l) {
    EXPECT_EQ(a.layers[l].Wt.storage, b.layers[l].Wt.storage);
    EXPECT_EQ(a.layers[l].b.storage, b.layers[l].b.storage);
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
  dropped.set_dropout({0.5}, 7);
  const Tensor<float> X = first_inputs(data, norm, 64);
  // Inference ignores dropout.
  const auto a = plain.forward(X.view());
  const std::vector<float> pa(a.data, a.data + a.size());
  const auto b = dropped.forward(X.view());
  EXPECT_EQ(std::vector<float>(b.data, b.data + b.size()), pa);
  // Training: about half of the hidden units get no gradient, the rest are scaled by 2.
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  dropped.forward_backward(X.view(), y);
  std::size_t dead = 0;
  for (int j = 0; j < 200; ++j) dead += dropped.layers[1].dWt(j, 0) == 0.0f && dropped.layers[1].dWt(j, 1) == 0.0f;
  EXPECT_GT(dead, 0u);
  EXPECT_THROW(dropped.set_dropout({1.0}, 1), Error);
  EXPECT_THROW(dropped.set_dropout({0.1, 0.2}, 1), Error);
}

TEST(Trainer, EarlyStoppingKeepsTheBestEpochsWeights) {
  const Dataset train = test::synthetic(300, 6, 6, 1), val = test::synthetic(100, 6, 6, 9);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  const auto make = [] {
    Network<float> net({{36, 32, 10}, Activation::relu, Loss::cross_entropy});
    Rng rng(2, kInitStream);
    net.init(Init{}, rng);
    return net;
  };
  TrainOptions opt{.epochs = 30, .batch = 16, .lr = 0.5, .seed = 3};
  opt.early_stop = 3;
  Network<float> net = make();
  Trainer trainer(net, norm, opt);
  const auto history = trainer.fit(train, nullptr, {}, {}, &val);
  const int best = trainer.best_epoch();
  ASSERT_GT(best, 0);
  double best_val = 0;
  for (const auto& r : history) best_val = std::max(best_val, *r.val_accuracy);
  EXPECT_DOUBLE_EQ(trainer.accuracy(val), best_val);
  // The same run stopped after `best` epochs has exactly these weights.
  opt.epochs = best;
  opt.early_stop = 0;
  Network<float> again = make();
  Trainer(again, norm, opt).fit(train, nullptr);
  for (std::size_t l = 0; l < net.layers.size(); ++l) EXPECT_EQ(net.layers[l].Wt.storage, again.layers[l].Wt.storage);
}

TEST(Trainer, EveryOptimizerAndRegulariserLearns) {
  const Dataset train = test::synthetic(400, 28, 28, 1), t = test::synthetic(100, 28, 28, 2);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  for (auto kind : {OptimizerConfig::sgd, OptimizerConfig::momentum, OptimizerConfig::nesterov, OptimizerConfig::adam,
                    OptimizerConfig::adamw}) {
    Network<float> net({{784, 32, 10}, Activation::relu, Loss::cross_entropy});
    Rng rng(1);
    net.init(Init{}, rng);
    net.set_dropout({0.2}, 1);
    TrainOptions opt{.epochs = 3, .batch = 32, .lr = kind >= OptimizerConfig::adam ? 0.003 : 0.05, .seed = 1};
    opt.optimizer.kind = kind;
    opt.optimizer.weight_decay = 0.01;
    opt.l2 = 1e-4;
    opt.clip_norm = 5;
    opt.schedule = parse_schedule("cosine");
    const auto h = Trainer(net, norm, opt).fit(train, &t);
    EXPECT_GT(*h.back().test_accuracy, 0.9) << to_string(kind);
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
    Network<float> net({{784, 300, 10}, Activation::relu, Loss::cross_entropy});
    Rng rng(1);
    net.init(Init{}, rng);
    net.set_dropout({0.3}, 5);
    TrainOptions opt{.epochs = 2, .batch = 256, .lr = 0.1, .seed = 1};
    opt.augment = parse_augment("shift:2,rotate:10,elastic,flip");
    Trainer(net, norm, opt).fit(train, nullptr);
    weights.push_back(net.layers[0].Wt.storage);
  }
  set_threads(0);
  EXPECT_EQ(weights[0], weights[1]);
  EXPECT_EQ(weights[0], weights[2]);
}

}  // namespace
}  // namespace digitnet
