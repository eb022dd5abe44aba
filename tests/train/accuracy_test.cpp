// The presets on real data, run through the CLI exactly as a user would.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace digitnet {
namespace {

const std::string kDigits = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
const std::string kFashion = "/usr/share/datasets/fashion-mnist";

double final_accuracy(const std::string& args) {
  const auto r = test::run_cli("train --json " + args);
  EXPECT_EQ(r.code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line, last;
  while (std::getline(lines, line)) last = line;
  return nlohmann::json::parse(last).at("test_accuracy").get<double>();
}

TEST(Accuracy, Seed001MlpOnDigitsHeldOut20Percent) {
  if (!std::filesystem::exists(kDigits)) GTEST_SKIP() << "python3-sklearn is not installed (.ci/run installs it)";
  EXPECT_GE(final_accuracy("--data " + kDigits + " --preset digits-relu-32"), 0.96);
}

TEST(Accuracy, Seed001SoftmaxOnDigits) {
  if (!std::filesystem::exists(kDigits)) GTEST_SKIP() << "python3-sklearn is not installed (.ci/run installs it)";
  EXPECT_GE(final_accuracy("--data " + kDigits + " --preset digits-softmax"), 0.94);
}

TEST(Accuracy, Seed000OnFashionMnistOneEpoch) {
  if (!std::filesystem::exists(kFashion))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed (.ci/run installs it)";
  EXPECT_GE(final_accuracy("--data " + kFashion + " --preset relu-128-64 --epochs 1"), 0.80);
}

}  // namespace
}  // namespace digitnet
