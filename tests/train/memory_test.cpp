// A run's memory, estimated from its recipe before anything large is allocated.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/memory.hpp"

namespace digitnet {
namespace {

TEST(Memory, EstimateGrowsWithWhatARunHolds) {
  const Recipe sgd{.layers = {784, 1000, 10}};
  const MemoryEstimate m = estimate_memory(sgd, 60000, 784, 2);
  const std::size_t params = (784 * 1000 + 1000 + 1000 * 10 + 10) * sizeof(float);
  EXPECT_EQ(m.weights, params);
  EXPECT_EQ(m.gradients, params);
  EXPECT_EQ(m.optimizer, 0u);  // plain SGD keeps no buffer
  EXPECT_EQ(m.data, std::size_t(60000) * 785);
  Recipe adam = sgd;
  adam.optimizer = "adam";
  EXPECT_EQ(estimate_memory(adam, 60000, 784, 2).optimizer, 2 * params);
  Recipe momentum = sgd;
  momentum.optimizer = "momentum";
  EXPECT_EQ(estimate_memory(momentum, 60000, 784, 2).optimizer, params);
  EXPECT_GT(estimate_memory(sgd, 60000, 784, 2).total(), estimate_memory(sgd, 600, 784, 2).total());
  EXPECT_NE(m.describe().find("weights 3 MB"), std::string::npos) << m.describe();
}

TEST(Memory, ARunThatDoesNotFitIsRefusedNamingWhatWeighsMost) {
  const Recipe huge{.layers = {784, 40000, 40000, 40000, 40000, 10}};  // 19 GB of weights
  try {
    check_memory(huge, 0, 784, 2, std::size_t(24) << 30);
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, "layers");
    EXPECT_NE(std::string(e.what()).find("weights 19.3 GB"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("more than the 25.8 GB this machine has free"), std::string::npos) << e.what();
  }
  try {
    check_memory(Recipe{.layers = {784, 10}}, 100'000'000, 784, 2, std::size_t(8) << 30);  // 78 GB of images
    FAIL();
  } catch (const SettingError& e) {
    EXPECT_EQ(e.setting, "data");
  }
  EXPECT_NO_THROW(check_memory(Recipe{}, 60000, 784, 2, std::size_t(1) << 30));
  EXPECT_GT(available_memory(), std::size_t(1) << 20);
}

}  // namespace
}  // namespace digitnet
