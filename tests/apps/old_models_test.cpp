// Model files written by earlier builds (tests/data/models) load, and evaluate as they did.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/model.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

std::string fixture(const std::string& name) {
  return (std::filesystem::path(DIGITNET_TESTS_DIR) / "data" / "models" / name).string();
}

TEST(OldModels, EvaluateAsTheBuildThatWroteThemDid) {
  for (const auto& [model, data] :
       std::vector<std::pair<std::string, std::string>>{{"v1-digits-relu-zscore", "digits"},
                                                        {"v1-digits-tanh-mse", "digits"},
                                                        {"v1-fashion-relu", "fashion-mnist"},
                                                        {"v1r-digits-recipe", ""}}) {
    SCOPED_TRACE(model);
    std::vector<std::string> args = {"eval", fixture(model + ".npz"), "--json"};
    if (!data.empty()) args.insert(args.end(), {"--data", data});
    const auto r = test::run_args(args);
    if (data == "fashion-mnist" && r.code != 0 && r.err.find("fashion") != std::string::npos)
      continue;  // not installed
    ASSERT_EQ(r.code, 0) << r.err;
    const auto then = nlohmann::json::parse(test::read_text(fixture(model + ".eval.json")));
    EXPECT_EQ(nlohmann::json::parse(r.out), then);
  }
}

TEST(OldModels, ANewerFormatIsRefusedNamingIt) {
  NpzArchive npz = read_npz(fixture("v1-digits-tanh-mse.npz"));
  auto config = nlohmann::json::parse(npz.at("config").to_string());
  config["format_version"] = kModelFormatVersion + 1;
  npz["config"] = NpyArray::from_string(config.dump());
  test::TempDir dir;
  write_npz(dir.file("new.npz"), npz);
  const auto r = test::run_args({"eval", dir.file("new.npz"), "--data", "digits"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "digitnet: error: " + dir.file("new.npz") + ": written by a newer digitnet (model format " +
                       std::to_string(kModelFormatVersion + 1) + "); this build reads format " +
                       std::to_string(kModelFormatVersion) + " and older\n");
}

}  // namespace
}  // namespace digitnet
