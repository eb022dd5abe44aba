// The layer's fast functions (SIMD kernels, shares of units, any core count) against its plain
// reference loops (dense.hpp): the same values, bit for bit.
#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/nn/dense.hpp"

namespace digitnet {
namespace {

// A layer and a batch X with a share of exact zeros (background pixels, inactive ReLUs),
// which the kernels skip.
template <class T>
struct Case {
  Dense<T> layer;
  Tensor<T> X, dZ;
  Case(int B, int in, int out, std::uint64_t seed) : layer(in, out), X(B, in), dZ(B, out) {
    Rng rng(seed);
    for (auto* t : {&layer.Wt, &layer.b, &dZ})
      for (auto& v : t->storage) v = T(rng.normal());
    for (auto& v : X.storage) v = rng.uniform() < 0.4 ? T(0) : T(rng.uniform());
  }
};

template <class T>
void expect_forward_and_backward_equal_reference(int B, int in, int out) {
  SCOPED_TRACE(testing::Message() << B << "x" << in << "x" << out);
  Case<T> c(B, in, out, 7);
  Tensor<T> Z_ref(B, out), dX_ref(B, in);
  Dense<T> ref = c.layer;
  dense_forward_reference<T>(ref, c.X.view(), Z_ref.view());
  dense_backward_reference<T>(ref, c.X.view(), c.dZ.view(), dX_ref.view());
  for (int threads : {1, 2, 3}) {
    set_threads(threads);
    Tensor<T> Z(B, out), dX(B, in);
    Dense<T> fast = c.layer;
    dense_forward<T>(fast, c.X.view(), Z.view());
    dense_backward_input<T>(fast, c.dZ.view(), dX.view());
    dense_backward_weights<T>(fast, c.X.view(), c.dZ.view());
    EXPECT_EQ(Z.storage, Z_ref.storage) << threads << " threads";
    EXPECT_EQ(dX.storage, dX_ref.storage) << threads << " threads";
    EXPECT_EQ(fast.dWt.storage, ref.dWt.storage) << threads << " threads";
    EXPECT_EQ(fast.db.storage, ref.db.storage) << threads << " threads";
    // In shares of units, as the cores take them in a training step.
    Tensor<T> Zs(B, out);
    Dense<T> shared = c.layer;
    for (const Units u : {Units{0, in / 3, 0, out / 2}, Units{in / 3, in, out / 2, out}}) {
      dense_forward<T>(shared, c.X.view(), Zs.view(), u);
      dense_backward_weights<T>(shared, c.X.view(), c.dZ.view(), false, u);
    }
    EXPECT_EQ(Zs.storage, Z_ref.storage) << threads << " threads, shares";
    EXPECT_EQ(shared.dWt.storage, ref.dWt.storage) << threads << " threads, shares";
    EXPECT_EQ(shared.db.storage, ref.db.storage) << threads << " threads, shares";
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
  dense_backward_weights<double>(c.layer, c.X.view(), c.dZ.view());
  const auto once = c.layer.dWt.storage;
  dense_backward_weights<double>(c.layer, c.X.view(), c.dZ.view(), /*accumulate=*/true);
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(c.layer.dWt.storage[i], 2 * once[i], 1e-12);
}

}  // namespace
}  // namespace digitnet
