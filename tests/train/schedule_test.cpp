// Learning-rate schedules, listed for a few epochs.
#include <cmath>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/schedule.hpp"

namespace digitnet {
namespace {

std::vector<double> per_epoch(const std::string& spec, double warmup = 0) {
  Schedule s = parse_schedule(spec);
  s.warmup_epochs = warmup;
  std::vector<double> lrs;
  for (int e = 0; e < 6; ++e) lrs.push_back(scheduled_lr(s, 0.1, e, 6));
  return lrs;
}

TEST(Schedule, ConstantAndStep) {
  EXPECT_EQ(per_epoch("constant"), std::vector<double>(6, 0.1));
  const auto step = per_epoch("step:2:0.5");
  const std::vector<double> expected = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025};
  for (int e = 0; e < 6; ++e) EXPECT_NEAR(step[e], expected[e], 1e-15);
}

TEST(Schedule, CosineFallsFromPeakTowardsZero) {
  const auto lr = per_epoch("cosine");
  EXPECT_DOUBLE_EQ(lr[0], 0.1);
  EXPECT_NEAR(lr[3], 0.05, 1e-12);  // half way
  for (int e = 1; e < 6; ++e) EXPECT_LT(lr[e], lr[e - 1]);
}

TEST(Schedule, OneCycleRisesThenFalls) {
  const auto lr = per_epoch("onecycle");
  EXPECT_NEAR(lr[0], 0.1 / 25, 1e-12);
  const double peak = scheduled_lr(parse_schedule("onecycle"), 0.1, 0.3 * 6, 6);
  EXPECT_NEAR(peak, 0.1, 1e-12);
  EXPECT_LT(lr[5], lr[3]);
  EXPECT_LT(scheduled_lr(parse_schedule("onecycle"), 0.1, 6, 6), 1e-6);
}

TEST(Schedule, WarmupRampsLinearly) {
  const auto lr = per_epoch("constant", 2);
  EXPECT_DOUBLE_EQ(lr[0], 0.0);
  EXPECT_DOUBLE_EQ(lr[1], 0.05);
  EXPECT_DOUBLE_EQ(lr[2], 0.1);
}

TEST(Schedule, BadSpecsAreRefused) {
  for (const char* bad : {"", "linear", "step", "step:2", "step:0:0.5", "step:2:x", "cosine:3"})
    EXPECT_THROW(parse_schedule(bad), Error) << bad;
}

}  // namespace
}  // namespace digitnet
