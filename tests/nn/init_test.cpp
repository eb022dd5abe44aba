// Initialisation: the scale of each scheme, and seeds that reproduce.
#include <cmath>
#include <span>

#include <gtest/gtest.h>

#include "test_support.hpp"

#include "digitnet/core/error.hpp"
#include "digitnet/nn/init.hpp"

namespace digitnet {
namespace {

double std_of(std::span<const double> v) {
  double s = 0, s2 = 0;
  for (double x : v) {
    s += x;
    s2 += x * x;
  }
  const double m = s / v.size();
  return std::sqrt(s2 / v.size() - m * m);
}

TEST(Init, EachSchemeHasItsScale) {
  DenseLayers<double> layers(std::vector<int>{400, 100});
  const Dense<double>& layer = layers[0];
  const std::vector<std::pair<std::string, double>> expected = {{"he", std::sqrt(2.0 / 400)},
                                                                {"xavier", std::sqrt(2.0 / 500)},
                                                                {"lecun", std::sqrt(1.0 / 400)},
                                                                {"normal:0.1", 0.1},
                                                                {"uniform:0.5", 0.5 / std::sqrt(3.0)}};
  for (const auto& [spec, sigma] : expected) {
    Rng rng(1);
    init_dense(layer, parse_init(spec), rng);
    EXPECT_NEAR(std_of(layer.Wt.values()), sigma, 0.03 * sigma) << spec;
    for (double b : layer.b.values()) EXPECT_EQ(b, 0.0);
  }
}

TEST(Init, SameSeedSameWeights) {
  DenseLayers<float> a(std::vector<int>{10, 5}), b(std::vector<int>{10, 5});
  Rng r1(9), r2(9);
  init_dense(a[0], Init{}, r1);
  init_dense(b[0], Init{}, r2);
  EXPECT_EQ(test::values(a[0].Wt), test::values(b[0].Wt));
}

TEST(Init, BadSpecsAreRefused) {
  for (const char* bad : {"", "glorot", "normal", "normal:", "normal:-1", "uniform:abc", "he:2"})
    EXPECT_THROW(parse_init(bad), Error) << bad;
}

}  // namespace
}  // namespace digitnet
