// The int8 products and the row quantizer: every kernel (VNNI where the CPU has it, and every
// Highway target) against the plain integer loops, exactly.
#include <gtest/gtest.h>

#include <cstdint>
#include <tuple>
#include <vector>

#include "digitnet/core/rng.hpp"
#include "kernels/gemm.hpp"
#include "kernels/qgemm.hpp"

namespace digitnet {
namespace {

struct Case {
  QuantizedLayer W;
  std::vector<std::uint8_t> A;
  std::vector<std::int32_t> zp;
  std::vector<float> rs;
  int M;
};

// M rows of K bytes (a third of them zero, as pixels are) through K x N random weights.
Case make_case(int M, int N, int K, std::uint64_t seed) {
  Rng rng(seed);
  Tensor<float> Wt(K, N);
  for (auto& v : Wt.storage) v = static_cast<float>(rng.normal());
  std::vector<float> bias(N);
  for (auto& b : bias) b = static_cast<float>(rng.normal());
  Case c{QuantizedLayer::from_float(Wt.view(), bias.data()), {}, {}, {}, M};
  c.A.assign(static_cast<std::size_t>(M) * c.W.Kp, 0);
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < K; ++k)
      c.A[static_cast<std::size_t>(i) * c.W.Kp + k] =
          rng.uniform() < 0.33 ? 0 : static_cast<std::uint8_t>(rng.below(256));
  for (int i = 0; i < M; ++i) {
    c.zp.push_back(static_cast<std::int32_t>(rng.below(256)));
    c.rs.push_back(static_cast<float>(0.001 + rng.uniform()));
  }
  return c;
}

std::vector<float> run(const Case& c, bool reference) {
  std::vector<float> Z(static_cast<std::size_t>(c.M) * c.W.Np, -1.0f);
  (reference ? qgemm_reference : qgemm)(c.A.data(), c.W.Kp, c.M, c.zp.data(), c.rs.data(), c.W, Z.data(), c.W.Np);
  return Z;
}

const std::vector<std::tuple<int, int, int>> kShapes = {{1, 1, 1},       {1, 128, 784}, {3, 17, 5},    {7, 33, 19},
                                                        {128, 128, 784}, {13, 64, 128}, {130, 10, 64}, {6, 300, 37}};

TEST(Qgemm, EveryKernelEqualsThePlainIntegerLoopsExactly) {
  for (const auto& [M, N, K] : kShapes) {
    for (bool vnni : {true, false}) {
      use_vnni(vnni);
      Case c = make_case(M, N, K, 11);
      const auto expected = run(c, true);
      if (vnni_in_use()) {
        EXPECT_EQ(run(c, false), expected) << "VNNI " << M << "x" << N << "x" << K;
        continue;
      }
      for (const auto& [target, name] : simd_targets()) {
        force_simd_target(target);
        // Without FMA (SSE4 and older) the float step after the exact sum rounds twice.
        const bool fma = name != "SSE4" && name != "SSSE3" && name != "SSE2" && name != "EMU128" && name != "SCALAR";
        const auto got = run(c, false);
        SCOPED_TRACE(testing::Message() << name << " " << M << "x" << N << "x" << K);
        if (fma) {
          EXPECT_EQ(got, expected);
        } else {
          for (std::size_t i = 0; i < got.size(); ++i)
            EXPECT_NEAR(got[i], expected[i], 1e-4f * (1 + std::abs(expected[i])));
        }
      }
      force_simd_target(0);
    }
  }
  use_vnni(true);
}

TEST(Qgemm, WeightsArePerOutputScaledAndRounded) {
  Tensor<float> Wt(3, 2);
  Wt(0, 0) = 1.0f, Wt(1, 0) = -0.5f, Wt(2, 0) = 0.25f;  // column 0: max 1
  Wt(0, 1) = 0.0f, Wt(1, 1) = 0.0f, Wt(2, 1) = 0.0f;    // column 1: all zero
  const float bias[2] = {0.5f, -1.0f};
  const QuantizedLayer l = QuantizedLayer::from_float(Wt.view(), bias);
  EXPECT_EQ(l.Kp, 4);
  EXPECT_EQ(l.Np, 16);
  EXPECT_EQ(l.q, (std::vector<std::int8_t>{127, 0, -64, 0, 32, 0}));  // round(-63.5) = -64, round(31.75) = 32
  EXPECT_FLOAT_EQ(l.scale[0], 1.0f / 127);
  EXPECT_EQ(l.scale[1], 1.0f);
  EXPECT_EQ(l.colsum[0], 127 - 64 + 32);
}

TEST(QuantizeRows, SimdEqualsThePlainLoopsAndRoundTrips) {
  Rng rng(5);
  for (int n : {1, 7, 16, 33, 128, 784}) {
    const int M = 9, width = (n + 3) / 4 * 4 + 4;
    std::vector<float> X(static_cast<std::size_t>(M) * n);
    for (int i = 0; i < M; ++i)
      for (int k = 0; k < n; ++k) {
        float& x = X[static_cast<std::size_t>(i) * n + k];
        // relu-like rows, signed rows, a row of zeros, and halves that land on a rounding tie
        x = i == 0 ? 0.0f : i == 1 ? static_cast<float>(k % 5) * 0.5f : static_cast<float>(rng.normal() * i);
        if (i >= 5 && x < 0) x = 0;
      }
    for (const auto& [lo, hi] : {std::pair{0.0f, 0.0f}, {0.0f, 1.0f}}) {
      std::vector<std::uint8_t> q1(static_cast<std::size_t>(M) * width, 7), q2(q1);
      std::vector<float> s1(M), s2(M);
      std::vector<std::int32_t> z1(M), z2(M);
      quantize_rows_reference(X.data(), n, M, n, lo, hi, q1.data(), width, width, s1.data(), z1.data());
      for (const auto& [target, name] : simd_targets()) {
        force_simd_target(target);
        std::fill(q2.begin(), q2.end(), 9);
        quantize_rows(X.data(), n, M, n, lo, hi, q2.data(), width, width, s2.data(), z2.data());
        EXPECT_EQ(q2, q1) << name << " n " << n;
        EXPECT_EQ(s2, s1) << name;
        EXPECT_EQ(z2, z1) << name;
      }
      force_simd_target(0);
      for (int i = 0; i < M; ++i)  // each value within half a step of what it stands for
        for (int k = 0; k < n; ++k) {
          const float x = X[static_cast<std::size_t>(i) * n + k];
          const float back = s1[i] * (float(q1[static_cast<std::size_t>(i) * width + k]) - float(z1[i]));
          EXPECT_NEAR(back, x, 0.5f * s1[i] * 1.001f + 1e-6f);
        }
    }
  }
}

// A dataset's bytes are read as their own quantized values: the same as quantizing p / 255.
TEST(QuantizeRows, PixelsOverTwoFiftyFiveComeBackAsThemselves) {
  std::vector<float> x(256);
  for (int p = 0; p < 256; ++p) x[p] = float(p) / 255.0f;
  std::vector<std::uint8_t> q(256);
  float s = 0;
  std::int32_t z = -1;
  quantize_rows(x.data(), 256, 1, 256, 0.0f, 1.0f, q.data(), 256, 256, &s, &z);
  for (int p = 0; p < 256; ++p) EXPECT_EQ(q[p], p);
  EXPECT_EQ(z, 0);
  EXPECT_EQ(s, (1.0f - 0.0f) / 255.0f);
}

}  // namespace
}  // namespace digitnet
