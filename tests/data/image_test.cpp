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

// The same 6x4 picture as binary PGM (P5, read by stb_image) and as plain-text PGM (P2, with
// comments where Netpbm allows them, and another maxval): both decode to the same pixels.
TEST(Image, PlainPgmReadsAsBinaryPgmDoes) {
  const std::vector<std::uint8_t> px = {0, 0,  255, 255, 0, 0, 0, 0, 255, 255, 0,   0,
                                        0, 51, 255, 255, 0, 0, 0, 0, 255, 255, 102, 0};
  std::string p5 = "P5\n6 4\n255\n";
  p5.append(px.begin(), px.end());
  std::string p2 = "P2\n# a bar\n6 4 # width height\n255\n";
  for (std::size_t i = 0; i < px.size(); ++i) p2 += std::to_string(px[i]) + (i % 6 == 5 ? "\n" : " ");
  const GrayImage a = decode_image(Bytes(p5.begin(), p5.end()), "a.pgm");
  const GrayImage b = decode_image(Bytes(p2.begin(), p2.end()), "b.pgm");
  EXPECT_EQ(b.width, 6);
  EXPECT_EQ(b.height, 4);
  EXPECT_EQ(a.pixels, b.pixels);
  const std::string small = "P2 2 1 15\r\n15 5";  // maxval 15, CRLF, no line end at the end
  const GrayImage c = decode_image(Bytes(small.begin(), small.end()), "c.pgm");
  EXPECT_EQ(c.pixels, (std::vector<float>{1.0f, 5.0f / 15.0f}));
  const auto size = image_size(Bytes(p2.begin(), p2.end()));
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 6);
  EXPECT_EQ(size->height, 4);
}

// Plain PGM's numbers are bounded before anything is allocated: each side 1..8192, maxval
// 1..65535, and no more pixels than the text can hold (a digit and a separator each).
TEST(Image, BadPlainPgmIsRefusedNamingWhatIsWrong) {
  const auto error_of = [](const std::string& text) {
    try {
      decode_image(Bytes(text.begin(), text.end()), "d.pgm");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"P2 0 2 255 1 2", "d.pgm: plain PGM: the width is outside 1..8192"},
      {"P2 9000 2 255 1 2", "d.pgm: plain PGM: the width is outside 1..8192"},
      {"P2 2 1 0 0 0", "d.pgm: plain PGM: the maxval is outside 1..65535"},
      {"P2 2 1 70000 0 0", "d.pgm: plain PGM: the maxval is outside 1..65535"},
      {"P2 2 1 255 7 256", "d.pgm: plain PGM: pixel 1 is outside 0..255"},
      {"P2 2 2 255 1 2 3    ", "d.pgm: plain PGM: pixel 3 is missing or not a number"},
      {"P2 2 1 255 1 2 3", "d.pgm: plain PGM: 1 bytes after its 2 pixels"},
      {"P2 2 1 255 1 x2", "d.pgm: plain PGM: pixel 1 is missing or not a number"},
      {"P2 2 1 255 1 2x", "d.pgm: plain PGM: pixel 1 is not a number"},
      {"P2 8192 8192 255 " + std::string(100, '0'),
       "d.pgm: plain PGM: its header declares 8192x8192 pixels, more than its 101 bytes of text can hold"},
      {"P2 # only a comment", "d.pgm: plain PGM: the width is missing or not a number"},
  };
  for (const auto& [text, message] : cases)
    EXPECT_NE(error_of(text).find(message), std::string::npos) << error_of(text);
  EXPECT_FALSE(image_size(Bytes{'P', '2', ' ', 'x'}));
}

// Any image's header is checked against its bytes before decoding: a PNG of 33 bytes that
// declares 8000x8000 pixels (more than deflate could fit in it) is refused from its header.
TEST(Image, AHeaderDeclaringMorePixelsThanTheBytesHoldIsRefused) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\0\0\0\x0dIHDR", 8);
  for (const std::uint32_t side : {8000u, 8000u})
    for (int shift = 24; shift >= 0; shift -= 8) png += static_cast<char>(side >> shift & 0xff);
  png += std::string("\x08\0\0\0\0\0\0\0\0", 9);
  const Bytes bytes(png.begin(), png.end());
  const auto size = image_size(bytes);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->width, 8000);
  try {
    decode_image(bytes, "big.png");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big.png: its header declares 8000x8000 pixels, more than 33 bytes"),
              std::string::npos)
        << e.what();
  }
  const std::string p5 = "P5 300 300 255\n" + std::string(1000, '\x80');
  EXPECT_THROW(decode_image(Bytes(p5.begin(), p5.end()), "short.pgm"), Error);
}

}  // namespace
}  // namespace digitnet
