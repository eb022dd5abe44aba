// Exported datasets read back the same.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stb_image.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/fetch/export.hpp"
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
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.file("png"))) files += e.is_regular_file();
  EXPECT_EQ(files, 40u);
  EXPECT_THROW(parse_export_format("tiff"), Error);
}

}  // namespace
}  // namespace digitnet
