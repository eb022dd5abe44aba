// A training step of the Network (split between cores, SGD fused into the backward pass) against
// docs/math.md §5-6 written out with each layer's reference functions: the same bits.
#include <cmath>
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"
#include "digitnet/train/sgd.hpp"
#include "kernels/split.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// forward:  Z_l = A_{l-1} W_l^T + b_l (Z_1 in two parts of its inputs), A_l = f(Z_l), the output layer softmax;
// backward: dZ_D = (P - Y) / B; dW_l, db_l, dA_{l-1} = dZ_l W_l; dZ_{l-1} = dA_{l-1} f'(Z_{l-1});
// update:   W_l -= lr dW_l, b_l -= lr db_l.   Returns the batch-mean loss.
float reference_step(Network<float>& net, Matrix<const float> X, std::span<const int> y, float lr) {
  const int B = X.rows, L = net.arch().depth();
  std::vector<Tensor<float>> Z(L), A(L), G(L);
  for (int l = 0; l < L; ++l) {
    const int n = net.arch().sizes[l + 1];
    Z[l].resize(B, n), A[l].resize(B, n), G[l].resize(B, n);
    if (l == 0) {  // a training step sums Z_1 = P_0 + P_1 over two parts of the inputs (kernels/split.hpp)
      const Dense<float>& layer = net.layers[0];
      const Range part[2] = {first_layer_part(layer.in(), 0), first_layer_part(layer.in(), 1)};
      for (int b = 0; b < B; ++b)
        for (int j = 0; j < n; ++j) {
          float p0 = layer.b.data[j], p1 = 0;
          for (int i = part[0].first; i < part[0].second; ++i) p0 = std::fma(X(b, i), layer.Wt(i, j), p0);
          for (int i = part[1].first; i < part[1].second; ++i) p1 = std::fma(X(b, i), layer.Wt(i, j), p1);
          Z[0](b, j) = p0 + p1;
        }
    } else {
      dense_forward_reference<float>(net.layers[l], Matrix<const float>(A[l - 1].view()), Z[l].view());
    }
    if (l + 1 < L) activation_forward<float>(net.arch().hidden, Z[l].view(), A[l].view());
  }
  float loss = 0;
  for (int b = 0; b < B; ++b)  // one row at a time, as the network adds the loss up
    loss += loss_forward<float>(net.arch().loss, Z[L - 1].view().rows_view(b, 1), y.subspan(b, 1),
                                A[L - 1].view().rows_view(b, 1));
  loss_backward<float>(net.arch().loss, A[L - 1].view(), y, G[L - 1].view(), B);
  for (int l = L - 1; l >= 0; --l) {
    const Matrix<const float> input = l == 0 ? X : Matrix<const float>(A[l - 1].view());
    dense_backward_reference<float>(net.layers[l], input, G[l].view(), l == 0 ? Matrix<float>() : G[l - 1].view());
    if (l > 0)
      activation_backward<float>(net.arch().hidden, Z[l - 1].view(), A[l - 1].view(), G[l - 1].view(), G[l - 1].view());
  }
  for (auto& layer : net.layers) sgd_step(layer, lr);
  return loss / float(B);
}

TEST(Network, SplitAndFusedStepEqualsTheReference) {
  const Dataset data = test::synthetic(100, 28, 28, 4);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  Tensor<float> X(100, 784);
  std::vector<std::size_t> idx(100);
  std::iota(idx.begin(), idx.end(), 0);
  norm.gather(data, idx, X.view());
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  // The seed network; and few inputs, where the first part of layer 1's sum has no inputs (5)
  // or fewer than the second (30).
  for (const std::vector<int>& sizes : {std::vector<int>{784, 128, 64, 10}, {5, 16, 10}, {30, 17, 10}})
    for (const Activation f : {Activation::relu, Activation::tanh}) {
      for (int B : {1, 32, 100}) {
        Network<float> ref({sizes, f, Loss::cross_entropy});
        Rng rng(9, kInitStream);
        ref.init(Init{}, rng);
        const Network<float> start = ref;
        const Matrix<const float> Xb = Matrix<const float>(X.view()).rows_view(0, B).cols_view(0, sizes[0]);
        const std::span<const int> yb = std::span(y).first(B);
        const float ref_loss = reference_step(ref, Xb, yb, 0.1f);
        for (int threads : {1, 2, 3}) {
          SCOPED_TRACE(testing::Message()
                       << sizes[0] << " inputs, " << to_string(f) << ", batch " << B << ", " << threads << " threads");
          set_threads(threads);
          Network<float> net = start;
          EXPECT_EQ(test::step(net, Xb, yb, B, FusedSgd<float>{0.1f}), ref_loss);
          for (std::size_t l = 0; l < net.layers.size(); ++l) {
            EXPECT_EQ(test::values(net.layers[l].Wt), test::values(ref.layers[l].Wt)) << "layer " << l + 1;
            EXPECT_EQ(test::values(net.layers[l].b), test::values(ref.layers[l].b)) << "layer " << l + 1;
          }
        }
      }
    }
  set_threads(0);
}

// Given the next step's batch, a fused step computes that step's first layer in its last
// hand-off (kernels/split.hpp), and the next step starts from it: the same bits as steps that
// compute their own, on any thread count. A step on other examples, or after forward() or
// weights_changed(), computes its own.
TEST(Network, FirstLayerComputedAheadGivesTheSameSteps) {
  const Dataset data = test::synthetic(100, 28, 28, 4);
  const Normalizer norm = Normalizer::fit(Normalizer::scale, data);
  std::vector<std::size_t> order(100);
  std::iota(order.begin(), order.end(), 0);
  const std::vector<int> y(data.labels.begin(), data.labels.end());
  constexpr int kB = 25;
  const auto rows = [&](int first) { return std::span<const std::size_t>(order).subspan(first, kB); };
  struct Fills {
    int own = 0, next = 0;  // calls of the step's fill and of the next batch's
  };
  // One step on rows first.., with the rows next.. as the next step's (next < 0: none given).
  const auto step = [&](Network<float>& net, Fills& fills, int first, int next) {
    const auto idx = rows(first);
    const auto fill = [&](Matrix<float> X, int c) { ++fills.own, norm.gather(data, idx, X, c); };
    const auto fill_next = [&](Matrix<float> X, int c) { ++fills.next, norm.gather(data, rows(next), X, c); };
    const Batch<float>::Fill own(fill), ahead(fill_next);
    const Batch<float> next_batch(kB, 784, ahead);
    Examples<float> ex{Batch<float>(kB, 784, own), std::span(y).subspan(first, kB), kB, idx, 7};
    if (next >= 0) ex.next = &next_batch, ex.next_keys = rows(next);
    return net.train_step(ex, FusedSgd<float>{0.1f});
  };
  Network<float> start({{784, 128, 64, 10}, Activation::relu, Loss::cross_entropy});
  Rng rng(9, kInitStream);
  start.init(Init{}, rng);
  Tensor<float> image(1, 784);
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << threads << " threads");
    set_threads(threads);
    Network<float> ahead = start, own = start;
    Fills a, o;
    const auto same_step = [&](const char* when, int first, int next) {
      a = o = {};
      EXPECT_EQ(step(ahead, a, first, next), step(own, o, first, -1)) << when;
      for (std::size_t l = 0; l < own.layers.size(); ++l) {
        EXPECT_EQ(test::values(ahead.layers[l].Wt), test::values(own.layers[l].Wt)) << when << ", layer " << l + 1;
        EXPECT_EQ(test::values(ahead.layers[l].b), test::values(own.layers[l].b)) << when << ", layer " << l + 1;
      }
      EXPECT_EQ(test::values(ahead.output()), test::values(own.output())) << when;
    };
    same_step("a first step", 0, 25);
    if (threads == 1) {
      EXPECT_GT(a.next, 0) << "one core always looks ahead";
    }
    same_step("a step from the first layer computed ahead", 25, 50);
    if (threads == 1) {
      EXPECT_EQ(a.own, 0) << "a step computed ahead writes no batch of its own";
      EXPECT_GT(o.own, 0);
    }
    norm.gather(data, rows(0).first(1), image.view());
    ahead.forward(image.view());  // overwrites Z_1: the next step computes its own
    same_step("a step after forward()", 50, 75);
    if (threads == 1) {
      EXPECT_GT(a.own, 0);
    }
    same_step("a step on other examples than computed ahead", 0, -1);
    if (threads == 1) {
      EXPECT_GT(a.own, 0);
    }
    same_step("a step", 25, 50);
    ahead.weights_changed();
    same_step("a step after weights_changed()", 50, -1);
    if (threads == 1) {
      EXPECT_GT(a.own, 0);
    }
  }
  set_threads(0);
}

}  // namespace
}  // namespace digitnet
