// Exported datasets read back the same.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stb_image.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/export.hpp"
#include "digitnet/train/metrics.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

DataSplit small_split() {
  DataSplit s;
  s.train = test::synthetic(30, 4, 4, 1);
  s.test = test::synthetic(10, 4, 4, 2);
  return s;
}

TEST(Export, CsvAndIdxReadBackExactly) {
  test::TempDir dir;
  const DataSplit s = small_split();
  export_dataset(s, parse_export_format("csv"), dir.file("csv"));
  const Dataset csv = load_any(dir.file("csv/train.csv"));
  EXPECT_EQ(csv.pixels, s.train.pixels);
  EXPECT_EQ(csv.labels, s.train.labels);
  export_dataset(s, parse_export_format("idx"), dir.file("idx"));
  const DataSplit back = load_data(dir.file("idx"), {}, 1);
  EXPECT_EQ(back.train.pixels, s.train.pixels);
  EXPECT_EQ(back.test.labels, s.test.labels);
}

TEST(Export, PngFoldersHoldEveryImage) {
  test::TempDir dir;
  const DataSplit s = small_split();
  export_dataset(s, parse_export_format("png-folders"), dir.file("png"));
  const std::string first = dir.file(fmt::format("png/train/{}/00000.png", s.train.labels[0]));
  int w = 0, h = 0, c = 0;
  unsigned char* px = stbi_load(first.c_str(), &w, &h, &c, 1);
  ASSERT_NE(px, nullptr);
  EXPECT_EQ(std::vector<std::uint8_t>(px, px + 16), std::vector<std::uint8_t>(s.train.image(0), s.train.image(0) + 16));
  stbi_image_free(px);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.file("png")))
    files += e.is_regular_file() && e.path().extension() == ".png";
  EXPECT_EQ(files, 40u);
  EXPECT_THROW(parse_export_format("tiff"), Error);
}

// Random small datasets (sizes, shapes, full intensity 255 or 16, any labels), exported in every
// format and read back: the very same examples; each exported image, predicted one by one, gets
// the probabilities the whole test part gets, bit for bit.
TEST(Export, EveryFormatReadsBackTheSameExamplesAndEachImagePredictsAsEval) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Rng rng(seed);
    const int side = seed % 2 ? 8 : 28;
    const bool digits = side == 8 && seed % 3 == 1;  // 0..16 values, as the 8x8 digits
    DataSplit s;
    for (Dataset* part : {&s.train, &s.test}) {
      *part = test::synthetic(5 + rng.below(40), side, side, rng.next());
      part->name = "random";
      if (digits) {
        part->pixel_max = 16;
        for (auto& p : part->pixels) p = static_cast<std::uint8_t>(p * 16 / 255);
      }
    }
    SCOPED_TRACE(testing::Message() << "seed " << seed << ", " << side << "x" << side << ", pixel_max "
                                    << s.train.pixel_max);
    const Recipe r{.layers = {side * side, 12, 10}, .seed = seed};
    Network<float> net = new_network(r);
    const Normalizer norm = Normalizer::fit(Normalizer::scale, s.train);
    const Predictions whole = predict_dataset(net, norm, s.test);
    Model model{net, norm, side, side, {}, {side, side, s.train.pixel_max, Centring::fill}};
    test::TempDir dir;
    const std::vector<std::string> formats = side == 28 || digits
                                                 ? std::vector<std::string>{"csv", "idx", "png-folders"}
                                                 : std::vector<std::string>{"idx", "png-folders"};
    for (const std::string& format : formats) {
      SCOPED_TRACE(format);
      export_dataset(s, parse_export_format(format), dir.file(format));
      const Dataset back = format == "csv"   ? load_any(dir.file("csv/test.csv"))
                           : format == "idx" ? load_data(dir.file("idx"), {}, 1).test
                                             : load_any(dir.file("png-folders/test"));
      EXPECT_EQ(back.pixel_max, s.test.pixel_max);
      EXPECT_EQ(back.height, side);
      if (format != "png-folders") {
        EXPECT_EQ(back.pixels, s.test.pixels);
        EXPECT_EQ(back.labels, s.test.labels);
      }
      EXPECT_EQ(predict_dataset(net, norm, back).label.size(), s.test.size());
    }
    // predict, one file at a time: as eval's rows, bit for bit
    for (std::size_t i = 0; i < s.test.size(); ++i) {
      const std::string file =
          dir.file(fmt::format("png-folders/test/{}/{:05}.{}", s.test.labels[i], i, digits ? "pgm" : "png"));
      const ModelInput in = prepare_input(load_image(file), model.input, file);
      ASSERT_TRUE(in.as_is) << file << ": " << in.how;
      const std::vector<float> p = predict_input(model, in);
      const float* expected = whole.probs.view().row(static_cast<int>(i));
      ASSERT_TRUE(std::equal(p.begin(), p.end(), expected)) << file;
    }
  }
}

TEST(Export, DigitsKeepTheirRangeInEachFormat) {
  test::TempDir dir;
  DataSplit s = small_split();
  for (Dataset* part : {&s.train, &s.test}) {
    part->height = part->width = 8;
    part->pixels.assign(part->size() * 64, 16);
    part->pixel_max = 16;
  }
  export_dataset(s, parse_export_format("csv"), dir.file("csv"));
  EXPECT_EQ(test::read_text(dir.file("csv/test.csv")).substr(0, 8), "16,16,16");  // scikit-learn's layout
  EXPECT_EQ(load_any(dir.file("csv/test.csv")).pixel_max, 16);
  export_dataset(s, parse_export_format("idx"), dir.file("idx"));
  EXPECT_EQ(load_data(dir.file("idx"), {}, 1).test.pixel_max, 16);  // dataset.json
  std::filesystem::remove(dir.file("idx/dataset.json"));
  const Dataset ambiguous = load_data(dir.file("idx"), {}, 1).train;
  EXPECT_EQ(ambiguous.pixel_max, 255);
  ASSERT_EQ(ambiguous.warnings.size(), 1u);
  EXPECT_NE(ambiguous.warnings[0].find("pixels only reach 16, read as 0..255"), std::string::npos);
  export_dataset(s, parse_export_format("png-folders"), dir.file("png"));
  EXPECT_EQ(test::read_text(dir.file(fmt::format("png/test/{}/00000.pgm", s.test.labels[0]))).substr(0, 10),
            "P5\n8 8\n16\n");
}

}  // namespace
}  // namespace digitnet
