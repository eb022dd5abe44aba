// Augmentation: pixel range kept, reproducible for a seed, and each distortion doing what it says.
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/augment.hpp"

namespace digitnet {
namespace {

std::vector<float> square() {  // a bright 6x6 square off centre in 28x28
  std::vector<float> img(784, 0.0f);
  for (int y = 8; y < 14; ++y)
    for (int x = 5; x < 11; ++x) img[y * 28 + x] = 1.0f;
  return img;
}

TEST(Augment, KeepsRangeAndIsReproducible) {
  const Augment a = parse_augment("shift:2,rotate:10,elastic,flip");
  for (int seed = 0; seed < 20; ++seed) {
    auto x = square(), y = square();
    Rng r1(seed), r2(seed);
    augment_image(a, x, 28, 28, r1);
    augment_image(a, y, 28, 28, r2);
    EXPECT_EQ(x, y);
    for (float v : x) {
      EXPECT_GE(v, 0.0f);
      EXPECT_LE(v, 1.0f);
    }
  }
}

TEST(Augment, ShiftMovesWholePixels) {
  Rng rng(3);
  auto x = square();
  augment_image(parse_augment("shift:2"), x, 28, 28, rng);
  // Same ink, moved by whole pixels: still 36 full pixels.
  EXPECT_NEAR(std::accumulate(x.begin(), x.end(), 0.0), 36.0, 1e-4);
  EXPECT_EQ(std::count(x.begin(), x.end(), 1.0f), 36);
}

TEST(Augment, FlipMirrorsTheImageHalfTheTime) {
  int flipped = 0;
  for (int seed = 0; seed < 40; ++seed) {
    Rng rng(seed);
    auto x = square();
    augment_image(parse_augment("flip"), x, 28, 28, rng);
    std::vector<float> mirror(784);
    for (int y = 0; y < 28; ++y)
      for (int c = 0; c < 28; ++c) mirror[y * 28 + c] = square()[y * 28 + 27 - c];
    ASSERT_TRUE(x == square() || x == mirror) << seed;
    flipped += x == mirror;
  }
  EXPECT_GT(flipped, 10);
  EXPECT_LT(flipped, 30);
}

TEST(Augment, RotationAndElasticChangeTheImageButKeepItsInk) {
  for (const char* spec : {"rotate:15", "elastic", "scale:0.15"}) {
    Rng rng(5);
    auto x = square();
    augment_image(parse_augment(spec), x, 28, 28, rng);
    EXPECT_NE(x, square()) << spec;
    EXPECT_NEAR(std::accumulate(x.begin(), x.end(), 0.0), 36.0, 8.0) << spec;
  }
}

// A zoom of z about the centre: a centred square's ink grows by about z^2.
TEST(Augment, ScaleZoomsAboutTheCentre) {
  double smallest = 1e9, largest = 0;
  for (int seed = 0; seed < 40; ++seed) {
    Rng rng(static_cast<std::uint64_t>(seed));
    auto x = square();
    augment_image(parse_augment("scale:0.2"), x, 28, 28, rng);
    const double ink = std::accumulate(x.begin(), x.end(), 0.0);
    smallest = std::min(smallest, ink);
    largest = std::max(largest, ink);
  }
  EXPECT_GT(smallest, 36.0 * 0.8 * 0.8 - 4);
  EXPECT_LT(largest, 36.0 * 1.2 * 1.2 + 4);
  EXPECT_GT(largest - smallest, 10);  // the draws vary
}

TEST(Augment, ParsingAndErrors) {
  const Augment a = parse_augment("shift:2,rotate:10,elastic");
  EXPECT_EQ(a.shift, 2);
  EXPECT_EQ(a.rotate, 10);
  EXPECT_TRUE(a.elastic);
  EXPECT_EQ(to_string(a), "shift:2,rotate:10,elastic");
  EXPECT_EQ(parse_augment("scale:0.1,rotate:5").scale, 0.1);
  EXPECT_EQ(to_string(parse_augment("scale:0.1,rotate:5")), "rotate:5,scale:0.1");
  for (const char* bad : {"shift", "shift:-1", "rotate:x", "blur", "elastic:3", "scale", "scale:0.7", "scale:0"})
    EXPECT_THROW(parse_augment(bad), Error) << bad;
}

}  // namespace
}  // namespace digitnet
