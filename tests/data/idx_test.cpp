// IDX loading: the standard names and their variants, gzip, and every kind of bad file.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/idx.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

using test::make_idx;

// Runs f and returns the Error's message, failing the test if none is thrown.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(Idx, ParsesDimsAndData) {
  const std::vector<std::uint8_t> px = {1, 2, 3, 4, 5, 6};
  const IdxArray a = parse_idx(make_idx({1, 2, 3}, px), "x");
  EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(a.data, px);
}

TEST(Idx, WrongMagicIsRefused) {
  Bytes b = make_idx({2}, std::vector<std::uint8_t>{1, 2});
  b[1] = 7;
  EXPECT_NE(error_of([&] { parse_idx(b, "f.idx"); }).find("f.idx: not an IDX file"), std::string::npos);
  EXPECT_NE(error_of([&] { parse_idx(Bytes{}, "f.idx"); }).find("not an IDX file"), std::string::npos);
}

TEST(Idx, NonByteDataTypeIsRefused) {
  Bytes b = make_idx({2}, std::vector<std::uint8_t>{1, 2});
  b[2] = 0x0D;  // float
  EXPECT_NE(error_of([&] { parse_idx(b, "f"); }).find("not supported"), std::string::npos);
}

TEST(Idx, TruncatedDataAndHeaderAreRefused) {
  Bytes b = make_idx({10}, std::vector<std::uint8_t>(10, 1));
  b.resize(b.size() - 3);
  EXPECT_NE(error_of([&] { parse_idx(b, "f"); }).find("truncated"), std::string::npos);
  Bytes h = make_idx({10, 10}, {});
  h.resize(7);
  EXPECT_NE(error_of([&] { parse_idx(h, "f"); }).find("truncated"), std::string::npos);
}

TEST(Idx, TrailingBytesAreRefused) {
  Bytes b = make_idx({2}, std::vector<std::uint8_t>{1, 2, 3});
  EXPECT_NE(error_of([&] { parse_idx(b, "f"); }).find("unexpected bytes"), std::string::npos);
}

TEST(Idx, CountMismatchBetweenImagesAndLabels) {
  test::TempDir dir;
  test::write_bytes(dir.file("i"), make_idx({3, 2, 2}, std::vector<std::uint8_t>(12, 0)));
  test::write_bytes(dir.file("l"), make_idx({2}, std::vector<std::uint8_t>{0, 1}));
  const std::string msg = error_of([&] { load_idx_pair(dir.file("i"), dir.file("l")); });
  EXPECT_NE(msg.find("3 images but"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2 labels"), std::string::npos) << msg;
}

TEST(Idx, LabelOutOfRange) {
  test::TempDir dir;
  test::write_bytes(dir.file("i"), make_idx({2, 2, 2}, std::vector<std::uint8_t>(8, 0)));
  test::write_bytes(dir.file("l"), make_idx({2}, std::vector<std::uint8_t>{3, 12}));
  const std::string msg = error_of([&] { load_idx_pair(dir.file("i"), dir.file("l")); });
  EXPECT_NE(msg.find("label 12 at index 1 is out of range 0..9"), std::string::npos) << msg;
}

TEST(Idx, FindsDashDotAndGzNames) {
  const Dataset d = test::synthetic(20, 4, 4, 1);
  for (const auto& [sep, gz] : {std::pair{"-", false}, {".", false}, {"-", true}, {".", true}}) {
    test::TempDir dir;
    test::write_idx_dir(dir.path.string(), d, &d, gz, sep);
    const auto found = find_idx_file(dir.path.string(), "train", "images");
    ASSERT_TRUE(found) << sep << gz;
    const Dataset loaded = load_idx_pair(*found, *find_idx_file(dir.path.string(), "train", "labels"));
    EXPECT_EQ(loaded.pixels, d.pixels);
    EXPECT_EQ(loaded.labels, d.labels);
  }
}

TEST(Idx, CorruptGzipIsRefused) {
  test::TempDir dir;
  Bytes gz = test::gzip(make_idx({4}, std::vector<std::uint8_t>{1, 2, 3, 4}));
  gz.resize(gz.size() / 2);
  test::write_bytes(dir.file("x.gz"), gz);
  EXPECT_NE(error_of([&] { read_idx(dir.file("x.gz")); }).find("gzip"), std::string::npos);
}

// What `cat a.gz b.gz > c.gz` makes is one file of two gzip members: read whole, within the
// header's bound as one stream. Zero padding after the last member is ignored (as gzip does);
// other bytes there are refused.
TEST(Idx, MultiMemberGzipIsReadWhole) {
  test::TempDir dir;
  std::vector<std::uint8_t> px(3 * 4 * 4);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 5);
  const Bytes raw = make_idx({3, 4, 4}, px);
  const auto members = [&](std::size_t split) {
    Bytes gz = test::gzip(std::span(raw).first(split));
    const Bytes second = test::gzip(std::span(raw).subspan(split));
    gz.insert(gz.end(), second.begin(), second.end());
    return gz;
  };
  for (const std::size_t split : {std::size_t{6}, std::size_t{30}}) {  // inside the header, inside the data
    test::write_bytes(dir.file("two.gz"), members(split));
    const IdxArray a = read_idx(dir.file("two.gz"));
    EXPECT_EQ(a.dims, (std::vector<std::uint32_t>{3, 4, 4})) << split;
    EXPECT_EQ(a.data, px) << split;
  }
  Bytes padded = members(30);
  padded.resize(padded.size() + 512, 0);
  test::write_bytes(dir.file("padded.gz"), padded);
  EXPECT_EQ(read_idx(dir.file("padded.gz")).data, px);
  Bytes tail = members(30);
  for (const char c : std::string("junk")) tail.push_back(static_cast<std::uint8_t>(c));
  test::write_bytes(dir.file("tail.gz"), tail);
  EXPECT_NE(error_of([&] { read_idx(dir.file("tail.gz")); }).find("tail.gz: 4 bytes after the end of the gzip data"),
            std::string::npos);
  // A second member that goes past what the header says is refused as a longer stream is.
  Bytes longer = members(30);
  const Bytes extra = test::gzip(Bytes(100, 7));
  longer.insert(longer.end(), extra.begin(), extra.end());
  test::write_bytes(dir.file("longer.gz"), longer);
  EXPECT_NE(error_of([&] { read_idx(dir.file("longer.gz")); }).find("inflates to more than"), std::string::npos);
}

TEST(Idx, MissingFileNamesThePath) {
  EXPECT_NE(error_of([] { read_idx("/nonexistent/train-images-idx3-ubyte"); }).find("/nonexistent/train-images"),
            std::string::npos);
}

}  // namespace
}  // namespace digitnet
