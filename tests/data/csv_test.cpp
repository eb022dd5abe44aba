// CSV loading: Kaggle's train.csv layout and scikit-learn's digits.csv.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

TEST(Csv, KaggleLayoutHasHeaderAndLabelFirst) {
  const Dataset d = parse_csv("label,p0,p1,p2,p3\n3,0,255,10,20\n7,1,2,3,4\n", "k.csv");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.labels, (std::vector<std::uint8_t>{3, 7}));
  EXPECT_EQ(d.height, 2);
  EXPECT_EQ(d.width, 2);
  EXPECT_EQ(d.pixel_max, 255);
  EXPECT_EQ(d.image(0)[1], 255);
}

TEST(Csv, SklearnDigitsLayoutHas64ValuesThenLabel) {
  std::string row;
  for (int i = 0; i < 64; ++i) row += std::to_string(i % 17) + ",";
  const Dataset d = parse_csv(row + "5\r\n" + row + "9\r\n", "digits.csv");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.labels[1], 9);
  EXPECT_EQ(d.height, 8);
  EXPECT_EQ(d.pixel_max, 16);
}

TEST(Csv, RealDigitsFileWhenInstalled) {
  const std::string path = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "python3-sklearn is not installed";
  const Dataset d = load_csv(path);
  EXPECT_EQ(d.size(), 1797u);
  EXPECT_EQ(d.features(), 64);
}

// LF (Unix), CRLF (Windows) and CR alone (classic Mac OS, Excel for Mac's "CSV (Macintosh)")
// give the same rows; errors count lines as an editor does, blank ones included.
TEST(Csv, LfCrlfAndCrAloneLineEndsReadAlike) {
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    for (const bool last : {true, false}) {
      const std::string text = "label,p0,p1,p2,p3" + eol + "3,0,255,10,20" + eol + "7,1,2,3,4" + (last ? eol : "");
      const Dataset d = parse_csv(text, "f.csv");
      EXPECT_EQ(d.labels, (std::vector<std::uint8_t>{3, 7})) << testing::PrintToString(eol);
      EXPECT_EQ(d.pixels, (std::vector<std::uint8_t>{0, 255, 10, 20, 1, 2, 3, 4})) << testing::PrintToString(eol);
    }
  }
  try {
    parse_csv("label,a,b\r\r1,2,3\r\n4,5\r", "f.csv");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f.csv: line 4 has 2 columns"), std::string::npos) << e.what();
  }
}

// `cat a.csv.gz b.csv.gz > c.csv.gz`: both members' rows are read (not only the first's).
TEST(Csv, ConcatenatedGzipFilesAreReadWhole) {
  test::TempDir dir;
  const std::string a = "label,p0,p1,p2,p3\n3,0,255,10,20\n", b = "7,1,2,3,4\n";
  Bytes gz = test::gzip(Bytes(a.begin(), a.end()));
  const Bytes second = test::gzip(Bytes(b.begin(), b.end()));
  gz.insert(gz.end(), second.begin(), second.end());
  test::write_bytes(dir.file("c.csv.gz"), gz);
  EXPECT_EQ(load_csv(dir.file("c.csv.gz")).labels, (std::vector<std::uint8_t>{3, 7}));
}

TEST(Csv, BadRowsNameTheLine) {
  const auto msg = [](const std::string& text) {
    try {
      parse_csv(text, "f.csv");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(msg("label,a,b\n1,2,3\n4,5\n").find("f.csv: line 3 has 2 columns"), std::string::npos);
  EXPECT_NE(msg("label,a,b\n1,x,3\n").find("line 2, column 2: 'x' is not a number"), std::string::npos);
  EXPECT_NE(msg("label,a,b\n12,0,3\n").find("label 12 is out of range"), std::string::npos);
  EXPECT_NE(msg("label,a,b\n1,300,3\n").find("pixel 300"), std::string::npos);
  EXPECT_NE(msg("").find("empty"), std::string::npos);
  EXPECT_NE(msg("a,b,c\n1,2,3\n").find("no 'label' column"), std::string::npos);
}

}  // namespace
}  // namespace digitnet
