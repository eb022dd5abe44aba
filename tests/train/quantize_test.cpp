// int8 inference: the quantized network against its plain reference, exactly (every kernel,
// every thread count), and against the float network it came from, closely.
#include <gtest/gtest.h>

#include <numeric>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/train/quantize.hpp"
#include "digitnet/train/trainer.hpp"
#include "kernels/qgemm.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

Network<float> random_network(std::vector<int> sizes, Activation f, Loss loss, std::uint64_t seed) {
  Network<float> net({sizes, f, loss});
  Rng rng(seed);
  net.init(parse_init("he"), rng);
  for (auto& layer : net.layers)
    for (int j = 0; j < layer.out(); ++j) layer.b.data[j] = static_cast<float>(0.1 * rng.normal());
  return net;
}

Tensor<float> rows01(const Dataset& d) {
  Tensor<float> X(static_cast<int>(d.size()), d.features());
  for (std::size_t i = 0; i < d.size(); ++i)
    for (int f = 0; f < d.features(); ++f)
      X(static_cast<int>(i), f) = float(d.image(i)[f]) * (1.0f / 255.0f);  // as Normalizer::gather
  return X;
}

std::vector<float> values(Matrix<const float> m) {
  std::vector<float> v;
  for (int r = 0; r < m.rows; ++r) v.insert(v.end(), m.row(r), m.row(r) + m.cols);
  return v;
}

TEST(Quantize, EveryKernelAndThreadCountGivesTheReferenceBits) {
  const Dataset data = test::synthetic(300, 28, 28, 3);
  const Tensor<float> X = rows01(data);
  for (const auto f : {Activation::relu, Activation::tanh, Activation::sigmoid})
    for (const auto kind : {Normalizer::scale, Normalizer::zscore}) {
      SCOPED_TRACE(testing::Message() << to_string(f) << " " << (kind == Normalizer::scale ? "scale" : "zscore"));
      const Network<float> net =
          random_network({784, 40, 24, 10}, f, f == Activation::sigmoid ? Loss::mse : Loss::cross_entropy, 9);
      const Normalizer norm = Normalizer::fit(kind, data);
      for (bool vnni : {true, false}) {
        use_vnni(vnni);
        QuantizedNetwork q(net, norm);
        const std::vector<float> expected = values(q.forward_reference(X.view()));
        EXPECT_EQ(values(q.forward(X.view())), expected) << int8_kernel_name();
        // The dataset's bytes read as they are: the same as quantizing pixel / 255.
        std::vector<std::size_t> all(data.size());
        std::iota(all.begin(), all.end(), 0);
        EXPECT_EQ(values(q.forward(data, all)), expected);
        for (int threads : {1, 2, 3}) {
          set_threads(threads);
          const Predictions p = predict_dataset(q, data, 32);
          EXPECT_EQ(std::vector<float>(p.probs.storage.begin(), p.probs.storage.end()), expected)
              << "threads " << threads;
        }
        set_threads(0);
        // One image at a time: the same bits as in a block.
        const std::vector<float> one = predict_one(q, {X.view().row(7), 784});
        EXPECT_EQ(one, std::vector<float>(expected.begin() + 70, expected.begin() + 80));
      }
      use_vnni(true);
    }
}

// With batch normalization too: the int8 network is made from the folded layers.
TEST(Quantize, ClosesToTheFloatNetworkItCameFrom) {
  for (const char* bn : {"off", "on"}) {
    SCOPED_TRACE(bn);
    const Dataset train = test::synthetic(2000, 28, 28, 1), test_set = test::synthetic(500, 28, 28, 2);
    const Recipe recipe{.layers = {784, 64, 32, 10}, .batch_norm = bn, .lr = 0.1, .batch = 32, .epochs = 2, .seed = 1};
    Network<float> net = new_network(recipe);
    const Normalizer norm = Normalizer::fit(Normalizer::scale, train);
    Trainer trainer(net, norm, recipe);
    trainer.fit(train, nullptr);
    const Predictions f = predict_dataset(net, norm, test_set);
    QuantizedNetwork q(net, norm);
    const Predictions i8 = predict_dataset(q, test_set);
    std::size_t same = 0;
    float worst = 0;
    for (std::size_t i = 0; i < test_set.size(); ++i) {
      same += f.label[i] == i8.label[i];
      for (int c = 0; c < 10; ++c)
        worst = std::max(worst, std::abs(f.probs(static_cast<int>(i), c) - i8.probs(static_cast<int>(i), c)));
    }
    EXPECT_GE(same, test_set.size() * 99 / 100);
    EXPECT_LT(worst, 0.05f);
  }
}

TEST(Quantize, PrecisionNames) {
  EXPECT_EQ(parse_precision("int8"), Precision::int8);
  EXPECT_EQ(parse_precision("float32"), Precision::float32);
  EXPECT_THROW(parse_precision("int4"), SettingError);
}

}  // namespace
}  // namespace digitnet
