// Accuracy, the confusion matrix and per-class precision and recall, worked out by hand.
#include <gtest/gtest.h>

#include "digitnet/train/metrics.hpp"

namespace digitnet {
namespace {

TEST(Metrics, ConfusionPrecisionAndRecallByHand) {
  // truth:     0 0 0 1 1 2
  // predicted: 0 0 1 1 2 2
  const std::vector<std::uint8_t> truth{0, 0, 0, 1, 1, 2};
  const std::vector<int> predicted{0, 0, 1, 1, 2, 2};
  const Metrics m = compute_metrics(truth, predicted, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 4.0 / 6);
  EXPECT_EQ(m.confusion, (std::vector<std::vector<std::size_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}));
  EXPECT_EQ(m.support, (std::vector<std::size_t>{3, 2, 1}));
  EXPECT_DOUBLE_EQ(m.precision[0], 1.0);   // 2 of 2 predicted 0
  EXPECT_DOUBLE_EQ(m.precision[1], 0.5);   // 1 of 2 predicted 1
  EXPECT_DOUBLE_EQ(m.precision[2], 0.5);   // 1 of 2 predicted 2
  EXPECT_DOUBLE_EQ(m.recall[0], 2.0 / 3);  // 2 of 3 zeros found
  EXPECT_DOUBLE_EQ(m.recall[1], 0.5);
  EXPECT_DOUBLE_EQ(m.recall[2], 1.0);
}

TEST(Metrics, UndefinedRatiosAreZero) {
  const std::vector<std::uint8_t> truth{0, 0};
  const std::vector<int> predicted{0, 0};
  const Metrics m = compute_metrics(truth, predicted, 3);
  EXPECT_DOUBLE_EQ(m.accuracy, 1.0);
  EXPECT_EQ(m.precision[1], 0.0);  // never predicted
  EXPECT_EQ(m.recall[2], 0.0);     // never true
  EXPECT_EQ(compute_metrics({}, {}, 10).accuracy, 0.0);
}

TEST(Metrics, ArgmaxTakesTheFirstOfTies) {
  EXPECT_EQ(argmax(std::vector<float>{0.1f, 0.7f, 0.2f}), 1);
  EXPECT_EQ(argmax(std::vector<float>{0.5f, 0.5f}), 0);
  EXPECT_EQ(argmax(std::vector<float>{-3.0f}), 0);
}

}  // namespace
}  // namespace digitnet
