// Test and validation parts: seeded, disjoint, complete, and refused when a part would be empty.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/train/split.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// Each example's bytes, to find it again in a part.
std::multiset<std::string> examples(const Dataset& d) {
  std::multiset<std::string> out;
  for (std::size_t i = 0; i < d.size(); ++i) {
    std::string row(reinterpret_cast<const char*>(d.image(i)), static_cast<std::size_t>(d.features()));
    row.push_back(static_cast<char>(d.labels[i]));
    out.insert(row);
  }
  return out;
}

TEST(Split, ParsesEachForm) {
  EXPECT_EQ(parse_split("auto").kind, SplitSpec::automatic);
  EXPECT_EQ(parse_split("official").kind, SplitSpec::official);
  EXPECT_DOUBLE_EQ(parse_split("random:0.25").fraction, 0.25);
  EXPECT_EQ(parse_split("dev:1000").count, 1000u);
  EXPECT_EQ(to_string(parse_split("dev:7")), "dev:7");
  for (const char* bad : {"", "random", "random:0", "random:1", "random:x", "dev:0", "dev:-3", "half"}) {
    try {
      parse_split(bad);
      FAIL() << bad;
    } catch (const SettingError& e) {
      EXPECT_EQ(e.setting, "split") << bad;
    }
  }
}

TEST(Split, RandomAndDevPartsAreSeededDisjointAndComplete) {
  const Dataset all = test::synthetic(200, 4, 4, 3);
  const DataSplit a = split_dataset(all, parse_split("random:0.2"), 7),
                  b = split_dataset(all, parse_split("random:0.2"), 7);
  EXPECT_EQ(a.test.size(), 40u);
  EXPECT_EQ(a.train.size(), 160u);
  EXPECT_EQ(a.test.pixels, b.test.pixels);  // the same seed, the same parts
  EXPECT_NE(split_dataset(all, parse_split("random:0.2"), 8).test.pixels, a.test.pixels);
  auto joined = examples(a.train);
  for (const auto& e : examples(a.test)) joined.insert(e);
  EXPECT_EQ(joined, examples(all));
  EXPECT_EQ(split_dataset(all, parse_split("dev:30"), 1).test.size(), 30u);
  EXPECT_THROW(split_dataset(all, parse_split("dev:200"), 1), SettingError);  // nothing left to train on
}

TEST(Split, ValidationComesFromTheTrainingPart) {
  Dataset train = test::synthetic(100, 4, 4, 5);
  const auto before = examples(train);
  const Dataset val = hold_out(train, 0.1, 3);
  EXPECT_EQ(val.size(), 10u);
  EXPECT_EQ(train.size(), 90u);
  auto joined = examples(train);
  for (const auto& e : examples(val)) joined.insert(e);
  EXPECT_EQ(joined, before);
  Dataset tiny = test::synthetic(3, 4, 4, 5);
  EXPECT_THROW(hold_out(tiny, 0.1, 3), SettingError);  // rounds to no example
}

}  // namespace
}  // namespace digitnet
