// The layer's fast functions (SIMD kernels, shares of units, any core count) against its plain
// reference loops (dense.hpp): the same values, bit for bit.
#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/nn/dense.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// A layer and a batch X with a share of exact zeros (background pixels, inactive ReLUs),
// which the kernels skip.
template <class T>
struct Case {
  DenseLayers<T> layers;  // one layer
  Tensor<T> X, dZ;
  Case(int B, int in, int out, std::uint64_t seed) : layers(std::vector<int>{in, out}), X(B, in), dZ(B, out) {
    Rng rng(seed);
    for (auto& v : layers[0].Wt.values()) v = T(rng.normal());
    for (auto& v : layers[0].b.values()) v = T(rng.normal());
    for (auto& v : dZ.storage) v = T(rng.normal());
    for (auto& v : X.storage) v = rng.uniform() < 0.4 ? T(0) : T(rng.uniform());
  }
};

template <class T>
void expect_forward_and_backward_equal_reference(int B, int in, int out) {
  SCOPED_TRACE(testing::Message() << B << "x" << in << "x" << out);
  Case<T> c(B, in, out, 7);
  Tensor<T> Z_ref(B, out), dX_ref(B, in);
  DenseLayers<T> ref_layers = c.layers;
  Dense<T>& ref = ref_layers[0];
  dense_forward_reference<T>(ref, c.X.view(), Z_ref.view());
  dense_backward_reference<T>(ref, c.X.view(), c.dZ.view(), dX_ref.view());
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    Tensor<T> Z(B, out), dX(B, in);
    DenseLayers<T> fast_layers = c.layers;
    Dense<T>& fast = fast_layers[0];
    dense_forward<T>(fast, c.X.view(), Z.view());
    dense_backward_input<T>(fast, c.dZ.view(), dX.view());
    dense_backward_weights<T>(fast, c.X.view(), c.dZ.view());
    EXPECT_EQ(Z.storage, Z_ref.storage) << threads << " threads";
    EXPECT_EQ(dX.storage, dX_ref.storage) << threads << " threads";
    EXPECT_EQ(test::values(fast.dWt), test::values(ref.dWt)) << threads << " threads";
    EXPECT_EQ(test::values(fast.db), test::values(ref.db)) << threads << " threads";
    // In shares of units, as the cores take them in a training step.
    Tensor<T> Zs(B, out);
    DenseLayers<T> shared_layers = c.layers;
    Dense<T>& shared = shared_layers[0];
    for (const Units u : {Units{0, in / 3, 0, out / 2}, Units{in / 3, in, out / 2, out}})
      dense_backward_weights<T>(shared, c.X.view(), c.dZ.view(), false, u);
    // The forward product by inputs, as a step pipelines it: the first third of the inputs from
    // the bias, then the rest on from there, each by column halves.
    for (const Units u : {Units{0, in / 3, 0, out / 2}, Units{0, in / 3, out / 2, out}, Units{in / 3, in, 0, out / 2},
                          Units{in / 3, in, out / 2, out}})
      dense_forward<T>(shared, c.X.view(), Zs.view(), u);
    EXPECT_EQ(Zs.storage, Z_ref.storage) << threads << " threads, shares";
    // The terms of some inputs alone, from zero (the second part of a training step's Z_1), by
    // column halves; and units with no inputs: the bias alone, or zero.
    Tensor<T> P(B, out), P_ref(B, out), Zb(B, out);
    for (int b = 0; b < B; ++b)
      for (int j = 0; j < out; ++j) {
        T p = 0;
        for (int i = in / 3; i < in; ++i) p = std::fma(c.X(b, i), ref.Wt(i, j), p);
        P_ref(b, j) = p;
      }
    for (const Units u : {Units{in / 3, in, 0, out / 2}, Units{in / 3, in, out / 2, out}})
      dense_forward_terms<T>(shared, c.X.view(), P.view(), u);
    EXPECT_EQ(P.storage, P_ref.storage) << threads << " threads, terms";
    dense_forward_terms<T>(shared, c.X.view(), P.view(), Units{in / 3, in / 3, 0, out});
    EXPECT_TRUE(std::all_of(P.storage.begin(), P.storage.end(), [](T v) { return v == T(0); })) << "no terms";
    dense_forward<T>(shared, c.X.view(), Zb.view(), Units{0, 0, 0, out});
    for (int b = 0; b < B; ++b)
      EXPECT_TRUE(std::equal(Zb.view().row(b), Zb.view().row(b) + out, shared.b.data)) << "no inputs: the bias";
    EXPECT_EQ(test::values(shared.dWt), test::values(ref.dWt)) << threads << " threads, shares";
    EXPECT_EQ(test::values(shared.db), test::values(ref.db)) << threads << " threads, shares";
  }
  set_threads(0);
}

TEST(Dense, FloatEqualsReference) {
  for (auto [B, in, out] : {std::tuple{1, 784, 128}, {32, 784, 128}, {32, 128, 64}, {7, 64, 10}, {130, 30, 17}})
    expect_forward_and_backward_equal_reference<float>(B, in, out);
}

TEST(Dense, DoubleEqualsReference) {
  for (auto [B, in, out] : {std::tuple{1, 64, 32}, {17, 64, 32}, {9, 30, 10}})
    expect_forward_and_backward_equal_reference<double>(B, in, out);
}

TEST(Dense, AccumulatingAddsTheGradients) {
  Case<double> c(10, 12, 5, 3);
  dense_backward_weights<double>(c.layers[0], c.X.view(), c.dZ.view());
  const auto once = test::values(c.layers[0].dWt);
  dense_backward_weights<double>(c.layers[0], c.X.view(), c.dZ.view(), /*accumulate=*/true);
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(c.layers[0].dWt.values()[i], 2 * once[i], 1e-12);
}

TEST(Dense, LayersShareOneBufferEachStartingOnACacheLine) {
  DenseLayers<float> layers(std::vector<int>{784, 100, 10});
  std::size_t n = 0;
  for (const auto& layer : layers)
    for (const Matrix<float>& m : {layer.Wt, layer.b}) {
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(m.data) % 64, 0u);
      n += m.size();
    }
  EXPECT_EQ(n, std::size_t(784 * 100 + 100 + 100 * 10 + 10));
  EXPECT_GE(layers.parameters().size(), n);
  EXPECT_EQ(layers.parameters().size(), layers.gradients().size());
  EXPECT_EQ(layers[1].b.data + 16, layers.parameters().data() + layers.parameters().size());  // 10 padded to 16
  // A copy has buffers of its own, and its views point into them.
  layers[0].Wt(3, 4) = 7;
  DenseLayers<float> copy = layers;
  copy[0].Wt(3, 4) = 8;
  EXPECT_EQ(layers[0].Wt(3, 4), 7);
  EXPECT_EQ(copy[0].Wt.data, copy.parameters().data());
}

}  // namespace
}  // namespace digitnet
