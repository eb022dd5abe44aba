// The three products against a naive triple loop, odd shapes included.
#include <gtest/gtest.h>

#include "digitnet/gemm.hpp"
#include "digitnet/rng.hpp"

namespace digitnet {
namespace {

Tensor<double> random_matrix(int r, int c, Rng& rng) {
  Tensor<double> t(r, c);
  for (auto& v : t.storage) v = rng.normal();
  return t;
}

TEST(Gemm, AllThreeProductsMatchNaiveLoops) {
  Rng rng(3);
  for (auto [M, N, K] : {std::tuple{1, 1, 1}, {3, 5, 7}, {4, 8, 16}, {9, 13, 30}, {32, 128, 784}}) {
    SCOPED_TRACE(testing::Message() << M << "x" << N << "x" << K);
    const auto A = random_matrix(M, K, rng);   // M x K
    const auto Bt = random_matrix(N, K, rng);  // N x K
    const auto B = random_matrix(K, N, rng);   // K x N
    const auto At = random_matrix(K, M, rng);  // K x M
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
  const auto A = random_matrix(5, 6, rng), B = random_matrix(6, 7, rng);
  Tensor<double> once(5, 7), twice(5, 7);
  matmul_ab<double>(A.view(), B.view(), once.view());
  matmul_ab<double>(A.view(), B.view(), twice.view());
  matmul_ab<double>(A.view(), B.view(), twice.view(), /*accumulate=*/true);
  for (std::size_t i = 0; i < once.size(); ++i) EXPECT_NEAR(twice.storage[i], 2 * once.storage[i], 1e-12);
}

}  // namespace
}  // namespace digitnet
