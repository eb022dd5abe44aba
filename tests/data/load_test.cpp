// load_data: directories and files, and the three ways to choose a test set.
#include <algorithm>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/load.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

TEST(Dataset, OfficialSplitUsesT10kFiles) {
  test::TempDir dir;
  const Dataset train = test::synthetic(50, 4, 4, 1), t = test::synthetic(20, 4, 4, 2);
  test::write_idx_dir(dir.path.string(), train, &t);
  const DataSplit s = load_data(dir.path.string(), {}, 1);
  EXPECT_EQ(s.split, "official");
  EXPECT_EQ(s.train.size(), 50u);
  EXPECT_EQ(s.test.size(), 20u);
}

TEST(Dataset, WithoutTestFilesDefaultsToRandom20Percent) {
  test::TempDir dir;
  test::write_idx_dir(dir.path.string(), test::synthetic(100, 4, 4, 1), nullptr);
  const DataSplit s = load_data(dir.path.string(), {}, 1);
  EXPECT_EQ(s.split, "random:0.2");
  EXPECT_EQ(s.test.size(), 20u);
  EXPECT_EQ(s.train.size(), 80u);
  EXPECT_THROW(load_data(dir.path.string(), parse_split("official"), 1), Error);
}

TEST(Dataset, RandomSplitDependsOnSeedAndIsReproducible) {
  test::TempDir dir;
  test::write_text(dir.file("d.csv"), test::to_kaggle_csv(test::synthetic(100, 4, 4, 1)));
  const auto a = load_data(dir.file("d.csv"), parse_split("random:0.3"), 5);
  const auto b = load_data(dir.file("d.csv"), parse_split("random:0.3"), 5);
  const auto c = load_data(dir.file("d.csv"), parse_split("random:0.3"), 6);
  EXPECT_EQ(a.test.size(), 30u);
  EXPECT_EQ(a.test.pixels, b.test.pixels);
  EXPECT_NE(a.test.pixels, c.test.pixels);
}

TEST(Dataset, DevSplitHoldsOutACount) {
  test::TempDir dir;
  test::write_text(dir.file("d.csv"), test::to_kaggle_csv(test::synthetic(100, 4, 4, 1)));
  const auto s = load_data(dir.file("d.csv"), parse_split("dev:10"), 1);
  EXPECT_EQ(s.test.size(), 10u);
  EXPECT_EQ(s.train.size(), 90u);
  EXPECT_THROW(load_data(dir.file("d.csv"), parse_split("dev:100"), 1), Error);
}

TEST(Dataset, BadSplitTextsAreRefused) {
  for (const char* bad : {"", "random", "random:0", "random:1.5", "dev:0", "dev:x", "half"})
    EXPECT_THROW(parse_split(bad), Error) << bad;
}

// Images without their labels (or labels without their images), of the test set or the
// training set, are an error naming the missing file: the test set is never silently dropped.
TEST(Dataset, HalfASetIsAnErrorNamingTheMissingFile) {
  const Dataset train = test::synthetic(50, 4, 4, 1), t = test::synthetic(20, 4, 4, 2);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"t10k-labels-idx1-ubyte", "has t10k-images-idx3-ubyte but no t10k-labels-idx1-ubyte"},
      {"t10k-images-idx3-ubyte", "has t10k-labels-idx1-ubyte but no t10k-images-idx3-ubyte"},
      {"train-labels-idx1-ubyte", "has train-images-idx3-ubyte but no train-labels-idx1-ubyte"},
      {"train-images-idx3-ubyte", "has train-labels-idx1-ubyte but no train-images-idx3-ubyte"},
  };
  for (const auto& [removed, message] : cases) {
    test::TempDir dir;
    test::write_idx_dir(dir.path.string(), train, &t);
    std::filesystem::remove(dir.file(removed));
    for (const char* split : {"auto", "random:0.2"}) {
      try {
        load_data(dir.path.string(), parse_split(split), 1);
        ADD_FAILURE() << removed << " missing, split " << split << ": no error";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find(dir.path.string() + ": " + message), std::string::npos) << e.what();
      }
    }
  }
}

TEST(Dataset, MissingPathIsAnError) { EXPECT_THROW(load_data("/nonexistent/data", {}, 1), Error); }

}  // namespace
}  // namespace digitnet

namespace digitnet {
namespace {

TEST(Dataset, FoldersOfImagesPerLabel) {
  test::TempDir dir;
  for (int label : {0, 1, 7}) {
    std::filesystem::create_directories(dir.path / std::to_string(label));
    for (int n = 0; n < 3; ++n) {
      std::vector<std::uint8_t> px(40 * 30, 255);  // a dark stroke on white, any size
      for (int y = 5; y < 25; ++y) px[y * 40 + 10 + label + n] = 0;
      test::write_bytes((dir.path / std::to_string(label) / fmt::format("{}.png", n)).string(), test::png(px, 40, 30));
    }
  }
  const Dataset d = load_any(dir.path.string());
  EXPECT_EQ(d.size(), 9u);
  EXPECT_EQ(d.height, 28);
  EXPECT_EQ(std::count(d.labels.begin(), d.labels.end(), 7), 3);
  EXPECT_EQ(*std::max_element(d.pixels.begin(), d.pixels.end()), 255);  // light on dark now
  EXPECT_EQ(d.pixels[0], 0);
}

}  // namespace
}  // namespace digitnet
