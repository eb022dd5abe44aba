// The products: against naive loops, and the SIMD kernels of every target this CPU has
// against the plain loops, bit for bit, with 1, 2 and 3 threads.
#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "kernels/gemm.hpp"

namespace digitnet {
namespace {

template <class T>
Tensor<T> random_matrix(int r, int c, Rng& rng) {
  Tensor<T> t(r, c);
  for (auto& v : t.storage) v = static_cast<T>(rng.normal());
  return t;
}

TEST(Gemm, AllThreeProductsMatchNaiveLoops) {
  Rng rng(3);
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {3, 5, 7}, {4, 8, 16}, {9, 13, 30}, {32, 128, 784}}) {
    SCOPED_TRACE(testing::Message() << M << "x" << N << "x" << K);
    const auto A = random_matrix<double>(M, K, rng), Bt = random_matrix<double>(N, K, rng);
    const auto B = random_matrix<double>(K, N, rng), At = random_matrix<double>(K, M, rng);
    Tensor<double> c1(M, N), c2(M, N), c3(M, N);
    matmul_abt<double>(A.view(), Bt.view(), c1.view());
    matmul_ab<double>(A.view(), B.view(), c2.view());
    matmul_atb<double>(At.view(), B.view(), c3.view());
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        double e1 = 0, e2 = 0, e3 = 0;
        for (int k = 0; k < K; ++k) {
          e1 += A(i, k) * Bt(j, k);
          e2 += A(i, k) * B(k, j);
          e3 += At(k, i) * B(k, j);
        }
        EXPECT_NEAR(c1(i, j), e1, 1e-12 * K);
        EXPECT_NEAR(c2(i, j), e2, 1e-12 * K);
        EXPECT_NEAR(c3(i, j), e3, 1e-12 * K);
      }
  }
}

TEST(Gemm, AccumulateAddsToC) {
  Rng rng(4);
  const auto A = random_matrix<double>(5, 6, rng), B = random_matrix<double>(6, 7, rng);
  Tensor<double> once(5, 7), twice(5, 7);
  matmul_ab<double>(A.view(), B.view(), once.view());
  matmul_ab<double>(A.view(), B.view(), twice.view());
  matmul_ab<double>(A.view(), B.view(), twice.view(), /*accumulate=*/true);
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice.storage[i], 2 * once.storage[i], 1e-12);
}

// All three float products for one shape, as one vector of results.
std::vector<float> float_products(int M, int N, int K) {
  Rng rng(5);
  const auto A = random_matrix<float>(M, K, rng), Bt = random_matrix<float>(N, K, rng);
  const auto B = random_matrix<float>(K, N, rng), At = random_matrix<float>(K, M, rng);
  Tensor<float> c1(M, N), c2(M, N), c3(M, N), c4(M, N), c5(M, N);
  matmul_abt<float>(A.view(), Bt.view(), c1.view());
  matmul_ab<float>(A.view(), B.view(), c2.view());
  matmul_atb<float>(At.view(), B.view(), c3.view());
  c4.fill(0.5f);
  matmul_ab<float>(A.view(), B.view(), c4.view(), /*accumulate=*/true);
  c5.fill(-0.25f);
  matmul_abt<float>(A.view(), Bt.view(), c5.view(), /*accumulate=*/true);
  const auto bias = random_matrix<float>(1, N, rng);
  Tensor<float> c6(M, N);
  matmul_ab_bias(A.view(), B.view(), bias.data(), c6.view());  // a layer's Z = b + X Wt
  Tensor<float> c7(M, N), c8(M, N);
  c7.fill(0.75f);
  matmul_atb<float>(At.view(), B.view(), c7.view(), /*accumulate=*/true);  // a gradient summed over batches
  c8.fill(0.125f);
  matmul_atb_update(At.view(), B.view(), c8.view(), -0.5f);  // the fused SGD step: W += alpha X^T dZ
  std::vector<float> all;
  for (const auto* c : {&c1, &c2, &c3, &c4, &c5, &c6, &c7, &c8})
    all.insert(all.end(), c->storage.begin(), c->storage.end());
  return all;
}

const std::vector<std::tuple<int, int, int>> kShapes = {{1, 1, 1},     {3, 17, 5},    {7, 33, 19},   {32, 128, 784},
                                                        {32, 64, 128}, {1, 128, 784}, {257, 10, 64}, {40, 784, 32},
                                                        {20, 40, 50},  {100, 37, 70}};

TEST(Gemm, EverySimdTargetEqualsThePlainLoopsBitForBit) {
  const auto targets = simd_targets();
  ASSERT_FALSE(targets.empty());
  for (const auto& [M, N, K] : kShapes) {
    use_plain_kernels(true);
    const auto plain = float_products(M, N, K);
    use_plain_kernels(false);
    for (const auto& [target, name] : targets) {
      force_simd_target(target);
      // Without FMA (SSE4 and older) the kernels round twice, so they agree only closely.
      const bool fma = name != "SSE4" && name != "SSSE3" && name != "SSE2" && name != "EMU128" && name != "SCALAR";
      for (int threads : {1, 2, 3}) {
        set_threads(threads);
        SCOPED_TRACE(testing::Message() << name << " threads " << threads << " shape " << M << "x" << N << "x" << K);
        const auto simd = float_products(M, N, K);
        if (fma) {
          EXPECT_EQ(simd, plain);
        } else {
          for (std::size_t i = 0; i < simd.size(); ++i)
            EXPECT_NEAR(simd[i], plain[i], 1e-4f * (1 + std::abs(plain[i])));
        }
      }
    }
    force_simd_target(0);  // back to every target
  }
  set_threads(0);
}

// C = A B^T goes into the A B form one of two ways (gemm.cpp, abt_way_for), by its shape: each,
// forced on every shape, gives the values the rule's way gives, with zeros in A as a dZ has them
// (== counts -0 and +0 equal: only the first way skips A's zero terms, as the file's head says).
TEST(Gemm, BothWaysOfABTransposedGiveTheSameBits) {
  for (const auto& [M, N, K] : kShapes) {
    SCOPED_TRACE(testing::Message() << M << "x" << N << "x" << K);
    Rng rng(11);
    auto A = random_matrix<float>(M, K, rng);
    for (auto& v : A.storage) v = rng.uniform() < 0.5 ? 0.0f : v;
    const auto B = random_matrix<float>(N, K, rng);
    Tensor<float> by_rule(M, N), first(M, N), second(M, N);
    matmul_abt<float>(A.view(), B.view(), by_rule.view());
    use_abt_way(1);
    matmul_abt<float>(A.view(), B.view(), first.view());
    use_abt_way(2);
    matmul_abt<float>(A.view(), B.view(), second.view());
    use_abt_way(0);
    EXPECT_EQ(first.storage, by_rule.storage);
    EXPECT_EQ(second.storage, by_rule.storage);
  }
}

// Inputs and ReLU outputs are often zero; the kernels leave out the terms whose a(i, k) is zero
// for every row of a tile. That may flip the sign of a sum that is exactly zero, nothing else, so
// the values equal the plain loops' (== counts -0 and +0 equal) on every target and thread count.
TEST(Gemm, SkippedZeroTermsLeaveEveryValueAsThePlainLoops) {
  for (const auto& [M, N, K] : std::vector<std::tuple<int, int, int>>{
           {32, 128, 784}, {784, 128, 32}, {128, 64, 32}, {30, 70, 100}, {7, 48, 13}}) {
    Rng rng(7);
    // Zero where a pixel's background would be: whole runs of k, and whole runs of rows.
    auto A = random_matrix<float>(M, K, rng), At = random_matrix<float>(K, M, rng);
    for (int i = 0; i < M; ++i)
      for (int k = 0; k < K; ++k)
        if (k % 5 < 3 || i % 7 < 2 || rng.uniform() < 0.3) A(i, k) = At(k, i) = 0.0f;
    const auto B = random_matrix<float>(K, N, rng), W = random_matrix<float>(M, N, rng);
    const auto run = [&] {
      Tensor<float> ab(M, N), atb(M, N), upd = W;
      matmul_ab<float>(A.view(), B.view(), ab.view());
      matmul_atb<float>(At.view(), B.view(), atb.view());
      matmul_atb_update(At.view(), B.view(), upd.view(), -0.5f);
      std::vector<float> all(ab.storage.begin(), ab.storage.end());
      all.insert(all.end(), atb.storage.begin(), atb.storage.end());
      all.insert(all.end(), upd.storage.begin(), upd.storage.end());
      return all;
    };
    use_plain_kernels(true);
    const auto plain = run();
    use_plain_kernels(false);
    for (const auto& [target, name] : simd_targets()) {
      if (name == "SSE4" || name == "SSSE3" || name == "SSE2" || name == "EMU128" || name == "SCALAR") continue;
      force_simd_target(target);
      for (int threads : {1, 2, 3}) {
        set_threads(threads);
        EXPECT_EQ(run(), plain) << name << " threads " << threads << " shape " << M << "x" << N << "x" << K;
      }
    }
    force_simd_target(0);
  }
  set_threads(0);
}

// One image at a time: the one-row kernel skips zero inputs (half of a typical image), which
// must leave every bit of the result as the plain loops give it, on every target and thread count.
TEST(Gemm, OneRowWithZeroInputsEqualsThePlainLoops) {
  for (int N : {10, 48, 64, 80, 96, 112, 128, 300, 1024}) {
    Rng rng(6);
    auto x = random_matrix<float>(1, 784, rng);
    for (int k = 0; k < 784; ++k)
      if (k % 3 != 0 || k < 100) x.storage[k] = 0.0f;  // a border of zeros, then 2 in 3
    const auto W = random_matrix<float>(784, N, rng);
    Tensor<float> bias(1, N), plain(1, N), simd(1, N);
    for (auto& b : bias.storage) b = static_cast<float>(rng.normal());
    use_plain_kernels(true);
    plain.storage = bias.storage;
    matmul_ab<float>(x.view(), W.view(), plain.view(), /*accumulate=*/true);
    use_plain_kernels(false);
    for (const auto& [target, name] : simd_targets()) {
      if (name == "SSE4" || name == "SSSE3" || name == "SSE2" || name == "EMU128" || name == "SCALAR") continue;
      force_simd_target(target);
      for (int threads : {1, 2}) {
        set_threads(threads);
        simd.storage = bias.storage;
        matmul_ab<float>(x.view(), W.view(), simd.view(), /*accumulate=*/true);
        EXPECT_EQ(simd.storage, plain.storage) << name << " N " << N << " threads " << threads;
      }
    }
    force_simd_target(0);
  }
  set_threads(0);
}

}  // namespace
}  // namespace digitnet
