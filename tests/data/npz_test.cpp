// .npy/.npz: round trips, NumPy's own files, and malformed input.
#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

TEST(Npy, HeaderIsPaddedTo64BytesAndRoundTrips) {
  const std::vector<float> v = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  const NpyArray a = NpyArray::from_floats(v, {2, 3});
  const Bytes bytes = serialize_npy(a);
  EXPECT_EQ((bytes.size() - v.size() * 4) % 64, 0u);
  const NpyArray b = parse_npy(bytes, "t");
  EXPECT_EQ(b.descr, "<f4");
  EXPECT_EQ(b.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(b.to_floats(), v);
}

TEST(Npy, UnicodeStringRoundTrips) {
  const std::string text = R"({"name": "digitnet", "note": "caf\u00e9 ✓"})";
  const NpyArray a = NpyArray::from_string(text);
  EXPECT_EQ(a.descr.substr(0, 2), "<U");
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(parse_npy(serialize_npy(a), "t").to_string(), text);
}

TEST(Npy, MalformedHeadersAreRefused) {
  const Bytes good = serialize_npy(NpyArray::from_floats(std::vector<float>{1, 2}, {2}));
  std::string header(good.begin(), good.begin() + 80);
  const auto with_header = [&](const std::string& from, const std::string& to) {
    Bytes b = good;
    std::string s(b.begin(), b.end());
    s.replace(s.find(from), from.size(), to);
    return Bytes(s.begin(), s.end());
  };
  EXPECT_THROW(parse_npy(with_header("'<f4'", "'>f4'"), "t"), Error);  // big-endian
  EXPECT_THROW(parse_npy(with_header("False", "True "), "t"), Error);  // Fortran order
  EXPECT_THROW(parse_npy(with_header("(2,)", "(3,)"), "t"), Error);    // data shorter than shape
  EXPECT_THROW(parse_npy(with_header("'<f4'", "'<c8'"), "t"), Error);  // complex
  Bytes truncated = good;
  truncated.resize(20);
  EXPECT_THROW(parse_npy(truncated, "t"), Error);
  Bytes magic = good;
  magic[1] = 'X';
  EXPECT_THROW(parse_npy(magic, "t"), Error);
}

TEST(Npz, WriteThenReadIsAtomicAndExact) {
  test::TempDir dir;
  NpzArchive a;
  a["w1"] = NpyArray::from_floats(std::vector<float>{1, 2, 3, 4}, {2, 2});
  a["config"] = NpyArray::from_string("{}");
  write_npz(dir.file("m.npz"), a);
  const NpzArchive b = read_npz(dir.file("m.npz"));
  EXPECT_EQ(b.at("w1").to_floats(), a.at("w1").to_floats());
  EXPECT_EQ(b.at("config").to_string(), "{}");
  // Only the finished file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path), {}), 1);
}

TEST(Npz, ReadsNumPySavezAndSavezCompressed) {
  const NpzArchive a = read_npz(test::reference_path("relu_ce_64_32_10.npz"));
  EXPECT_EQ(a.at("w1").shape, (std::vector<std::size_t>{32, 64}));
  EXPECT_EQ(a.at("w1").descr, "<f8");
  EXPECT_EQ(a.at("y").descr, "<i8");
  EXPECT_EQ(read_npz(test::reference_path("relu_ce_64_32_10_compressed.npz")).size(), a.size());
}

TEST(Npz, CorruptArchivesAreRefused) {
  test::TempDir dir;
  Bytes good = read_file(test::reference_path("relu_ce_64_32_10_compressed.npz"));
  Bytes truncated(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(good.size() / 2));
  EXPECT_THROW(parse_npz(truncated, "t.npz"), Error);
  Bytes flipped = good;
  for (std::size_t i = 100; i < 400; ++i) flipped[i] ^= 0x5A;
  EXPECT_THROW(parse_npz(flipped, "t.npz"), Error);
  EXPECT_THROW(parse_npz(Bytes{'h', 'e', 'l', 'l', 'o'}, "t.npz"), Error);
  EXPECT_THROW(read_npz(dir.file("missing.npz")), Error);
}

}  // namespace
}  // namespace digitnet
