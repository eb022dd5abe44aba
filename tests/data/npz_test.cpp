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

// A caller that knows what it expects sees each member's .npy header before any of its data is
// inflated: it may leave the member out (never inflated) or refuse the archive.
TEST(Npz, SelectSeesEachHeaderBeforeTheData) {
  const Bytes a = serialize_npy(NpyArray::from_floats(std::vector<float>{1, 2, 3}, {3}));
  const Bytes zip = test::make_zip({test::stored_member("a.npy", a), test::hollow_member("b.npy", {4000000, 64})});
  // Left out: b's junk past its header is never reached.
  std::vector<std::string> asked;
  const NpzArchive only_a = parse_npz(zip, "t.npz", [&](const std::string& name, const NpyHeader& h) {
    asked.push_back(name);
    if (name == "b") {
      EXPECT_EQ(h.shape, (std::vector<std::size_t>{4000000, 64}));
      EXPECT_EQ(h.data_bytes, std::size_t{1024000000});
    }
    return name == "a";
  });
  EXPECT_EQ(asked, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(only_a.size(), 1u);
  EXPECT_EQ(only_a.at("a").to_floats(), (std::vector<float>{1, 2, 3}));
  // Refused from the header: the error is the caller's, not the inflater's.
  try {
    parse_npz(zip, "t.npz", [](const std::string& name, const NpyHeader& h) {
      if (name == "b" && h.data_bytes > 1000) throw Error("t.npz: 'b' is larger than expected");
      return true;
    });
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "t.npz: 'b' is larger than expected");
  }
  // Read without a selection, b is inflated past its header and found corrupt.
  EXPECT_THROW(parse_npz(zip, "t.npz"), Error);
}

// Sizes that no honest member has are refused before the member is read: a stored member whose
// headers claim more than it holds (1 GB for 1 MB), and an .npy header whose shape does not fill
// its member (4000000 x 64 floats declared in 1 KB).
TEST(Npz, DeclaredSizesAreCheckedAgainstTheBytesBeforeReading) {
  const auto error_of = [](const Bytes& zip) {
    try {
      parse_npz(zip, "t.npz");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  Bytes stored = serialize_npz({{"w1", NpyArray::from_floats(std::vector<float>(1 << 18, 0.5f), {1 << 18})}});
  test::set_member_size(stored, "w1.npy", 1u << 30);
  EXPECT_NE(error_of(stored).find("t.npz: entry 'w1.npy' is stored in 1048704 bytes but its header says it holds "
                                  "1073741824"),
            std::string::npos)
      << error_of(stored);
  Bytes npy = serialize_npy(NpyArray{"<f4", {4000000, 64}, {}});  // the header alone, then 1 KB of data
  npy.resize(npy.size() + 1024, 0);
  const std::string message = error_of(test::make_zip({test::stored_member("w1.npy", npy)}));
  EXPECT_NE(message.find("t.npz[w1]: its header declares 1024000000 bytes of data (shape (4000000, 64)), the "
                         "archive's entry holds 1024"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace digitnet
