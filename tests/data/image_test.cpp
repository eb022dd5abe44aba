// Preparing images the MNIST way, whatever their size and polarity.
#include <numeric>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// A w x h picture of a thick vertical bar (a "1") off to the left, dark on light or light on dark.
Bytes bar_png(int w, int h, bool dark_on_light) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h, dark_on_light ? 250 : 5);
  for (int y = h / 5; y < 4 * h / 5; ++y)
    for (int x = w / 6; x < w / 6 + w / 10; ++x) px[static_cast<std::size_t>(y) * w + x] = dark_on_light ? 10 : 240;
  return test::png(px, w, h);
}

TEST(Image, MnistRecipeCentresTheInkIn28x28) {
  const auto x = preprocess_mnist(decode_image(bar_png(200, 120, true), "bar.png"), "bar.png");
  ASSERT_EQ(x.size(), 784u);
  double mass = 0, cx = 0, cy = 0;
  int rows_with_ink = 0;
  for (int y = 0; y < 28; ++y) {
    bool ink = false;
    for (int c = 0; c < 28; ++c) {
      const double v = x[y * 28 + c];
      mass += v;
      cx += v * c;
      cy += v * y;
      ink |= v > 0.5;
    }
    rows_with_ink += ink;
  }
  EXPECT_NEAR(cx / mass, 13.5, 1.0);
  EXPECT_NEAR(cy / mass, 13.5, 1.0);
  EXPECT_NEAR(rows_with_ink, 20, 1);  // the longer side is fitted to 20 pixels
  EXPECT_FLOAT_EQ(*std::max_element(x.begin(), x.end()), 1.0f);
  EXPECT_FLOAT_EQ(x[0], 0.0f);
}

TEST(Image, PolarityDoesNotMatter) {
  const auto a = preprocess_mnist(decode_image(bar_png(90, 90, true), "a"), "a");
  const auto b = preprocess_mnist(decode_image(bar_png(90, 90, false), "b"), "b");
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 0.05) << i;
}

TEST(Image, PlainResizeFor8x8) {
  const auto x = preprocess_for_input(decode_image(bar_png(64, 64, true), "a"), 8, 8, "a");
  EXPECT_EQ(x.size(), 64u);
}

TEST(Image, BlankAndBrokenImagesAreRefused) {
  std::vector<std::uint8_t> white(100, 255);
  EXPECT_THROW(preprocess_mnist(decode_image(test::png(white, 10, 10), "w"), "w"), Error);
  EXPECT_THROW(decode_image(Bytes{1, 2, 3, 4}, "junk"), Error);
  Bytes truncated = bar_png(50, 50, true);
  truncated.resize(truncated.size() / 2);
  EXPECT_THROW(decode_image(truncated, "t"), Error);
}

}  // namespace
}  // namespace digitnet
