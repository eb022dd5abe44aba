// Inverted dropout: the kept share is 1 - p, kept units are scaled by 1 / (1 - p), a draw gives
// one mask, and the backward pass lets gradient through exactly where the mask kept a unit.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "digitnet/nn/dropout.hpp"

namespace digitnet {
namespace {

TEST(Dropout, KeepsTheRightShareScaledAndIsReproducible) {
  Tensor<float> A(256, 1000), M(256, 1000), D(256, 1000), M2(256, 1000), D2(256, 1000);
  A.fill(2.0f);
  std::vector<std::size_t> keys(256);
  std::iota(keys.begin(), keys.end(), 1000);  // each row's example
  dropout_forward<float>(A.view(), 0.3, 42, M.view(), D.view(), keys);
  std::size_t kept = 0;
  for (std::size_t i = 0; i < M.size(); ++i) {
    ASSERT_TRUE(M.storage[i] == 0.0f || M.storage[i] == 1.0f / 0.7f);
    EXPECT_EQ(D.storage[i], 2.0f * M.storage[i]);
    kept += M.storage[i] != 0.0f;
  }
  EXPECT_NEAR(double(kept) / double(M.size()), 0.7, 0.005);
  // Rows get different masks; the same draw gives the same masks, another draw others.
  EXPECT_NE(std::vector<float>(M.view().row(0), M.view().row(0) + 1000),
            std::vector<float>(M.view().row(1), M.view().row(1) + 1000));
  dropout_forward<float>(A.view(), 0.3, 42, M2.view(), D2.view(), keys);
  EXPECT_EQ(M.storage, M2.storage);
  dropout_forward<float>(A.view(), 0.3, 43, M2.view(), D2.view(), keys);
  EXPECT_NE(M.storage, M2.storage);
  // A row's mask follows its key, not its place: the rows in another order, their masks too.
  std::reverse(keys.begin(), keys.end());
  dropout_forward<float>(A.view(), 0.3, 42, M2.view(), D2.view(), keys);
  EXPECT_EQ(std::vector<float>(M.view().row(0), M.view().row(0) + 1000),
            std::vector<float>(M2.view().row(255), M2.view().row(255) + 1000));

  Tensor<float> G(256, 1000);
  G.fill(1.0f);
  dropout_backward<float>(M.view(), G.view());
  EXPECT_EQ(G.storage, M.storage);
}

}  // namespace
}  // namespace digitnet
