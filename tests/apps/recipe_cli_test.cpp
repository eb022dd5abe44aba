// The recipe as a user of the command line meets it: each setting once, in decimal, within
// its range; runs that would not fit in memory or that diverge stop with one line; --help
// shows every setting's default in its group; what a model file records is the recipe it ran.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/npz.hpp"
#include "digitnet/train/recipe.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

class RecipeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(400, 28, 28, 1), t = test::synthetic(100, 28, 28, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& name) { return dir_->file(name); }
  static test::RunResult run(std::vector<std::string> args) { return test::run_args(args); }
  static void refused(const std::vector<std::string>& args, const std::string& line) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_EQ(r.err, "digitnet: error: " + line + "\n");
    EXPECT_EQ(r.out.find("epoch"), std::string::npos) << r.out;
  }
  static test::TempDir* dir_;
};
test::TempDir* RecipeCli::dir_ = nullptr;

TEST_F(RecipeCli, EachSettingOnceInDecimalWithinItsRange) {
  const std::vector<std::string> t = {"train", "--data", file("idx")};
  const auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = t;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  refused(with({"--epochs", "0x10"}), "--epochs: '0x10' is not a whole number (decimal digits only)");
  refused(with({"--lr", "0.1", "--lr", "0.2"}), "--lr: given 2 times (0.1, 0.2); give it once");
  refused(with({"--augment", "shift:2,shift:2"}), "--augment: 'shift' is given twice in 'shift:2,shift:2'");
  refused(with({"--layers", "784,64.5,10"}), "--layers[1]: '64.5' is not a whole number (decimal digits only)");
  refused(with({"--early-stop", "3"}), "--early-stop: needs a validation share: set --val (0.1, say)");
  refused(with({"--activation", "gelu"}),
          "--activation: 'gelu' is not one of relu, sigmoid, tanh (did you mean relu?)");
  refused(with({"--save", file("m.npz"), "--checkpoint", file("m.npz")}),
          "--save and --checkpoint are the same file (" + file("m.npz") + "): give each its own");
}

TEST_F(RecipeCli, ARunTooLargeForThisMachineIsRefusedBeforeItAllocates) {
  const auto r = run({"train", "--data", file("idx"), "--layers", "784,40000,40000,40000,40000,10"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("digitnet: error: --layers: this run needs about ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("weights 19.3 GB"), std::string::npos) << r.err;
  EXPECT_LT(r.max_rss_mb, 150);
  EXPECT_LT(r.seconds, 5);
}

TEST_F(RecipeCli, MoreThreadsThanCoresAreCappedWithAWarning) {
  const auto r = run({"train", "--data", file("idx"), "--layers", "784,10", "--epochs", "1", "--threads", "1024"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_EQ(r.err.rfind("digitnet: warning: --threads 1024 is more than the ", 0), 0u) << r.err;
  EXPECT_NE(r.out.find(" threads"), std::string::npos);
}

TEST_F(RecipeCli, ADivergingRunStopsAndKeepsTheLastGoodModel) {
  const std::string model = file("good.npz");
  ASSERT_EQ(run({"train", "--data", file("idx"), "--epochs", "1", "--lr", "0.1", "--save", model}).code, 0);
  const std::string before = test::read_text(model);
  // The seed network at lr 1.5 blows up in its first epoch (and would end as a dead network).
  const auto r = run({"train", "--data", file("idx"), "--epochs", "5", "--lr", "1.5", "--save", model});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--lr: training diverged in epoch 1: the loss went from"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("try a smaller --lr (now 1.5) or set --clip-norm"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_text(model), before);
}

TEST_F(RecipeCli, HelpShowsEachSettingsDefaultInItsGroup) {
  const auto r = run({"train", "--help"});
  ASSERT_EQ(r.code, 0);
  for (const char* heading : {"Model:", "Optimizer:", "Regularization:", "Data:", "Run:", "Output:"})
    EXPECT_NE(r.out.find(heading), std::string::npos) << heading << "\n" << r.out;
  EXPECT_NE(r.out.find("(default: 0.32)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(default: 784,128,64,10)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("relu, sigmoid, tanh (default: relu)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("NOT EMPTY"), std::string::npos) << r.out;
  // every setting of the recipe is a flag
  for (const Setting& s : recipe_settings()) {
    std::string flag = "--" + std::string(s.name);
    std::replace(flag.begin(), flag.end(), '_', '-');
    EXPECT_NE(r.out.find(flag + " "), std::string::npos) << flag;
  }
}

TEST_F(RecipeCli, TheModelRecordsTheRecipeItRan) {
  const std::vector<std::string> flags = {"--layers",  "784,32,16,10", "--optimizer", "adamw",  "--lr",      "0.003",
                                          "--dropout", "0.2,0.1",      "--batch",     "full",   "--epochs",  "2",
                                          "--seed",    "77",           "--schedule",  "cosine", "--augment", "shift:1"};
  std::vector<std::string> args = {"train", "--data", file("idx"), "--save", file("r.npz")};
  args.insert(args.end(), flags.begin(), flags.end());
  ASSERT_EQ(run(args).code, 0);
  const auto config = nlohmann::json::parse(read_npz(file("r.npz")).at("config").to_string());
  const Recipe recorded = recipe_from_json(config["recipe"]);
  for (std::size_t i = 0; i < flags.size(); i += 2) {
    const Setting& s = find_setting(flags[i].substr(2));
    EXPECT_EQ(setting_text(recorded, s), flags[i + 1]) << flags[i];
  }
  EXPECT_EQ(recorded.data, file("idx"));
  // and that recipe, given back as flags, trains the same model
  std::vector<std::string> again = {"train", "--save", file("again.npz")};
  for (const Setting& s : recipe_settings())
    if (s.name != "threads") again.insert(again.end(), {"--" + std::string(s.name), setting_text(recorded, s)});
  for (auto& a : again) std::replace(a.begin(), a.end(), '_', '-');
  again[2] = file("again.npz");  // the path has no flag's '_' to change, but keep it exact
  ASSERT_EQ(run(again).code, 0);
  const NpzArchive a = read_npz(file("r.npz")), b = read_npz(file("again.npz"));
  for (const char* key : {"w1", "b1", "w3", "b3"}) EXPECT_EQ(a.at(key).data, b.at(key).data) << key;
}

TEST_F(RecipeCli, AModelWhoseLayersAreNotWholeNumbersIsRefused) {
  ASSERT_EQ(run({"train", "--data", file("idx"), "--layers", "784,10", "--epochs", "1", "--save", file("w.npz")}).code,
            0);
  NpzArchive npz = read_npz(file("w.npz"));
  auto config = nlohmann::json::parse(npz.at("config").to_string());
  config["layers"] = {784.5, 10};
  npz["config"] = NpyArray::from_string(config.dump());
  write_npz(file("half.npz"), npz);
  const auto r = run({"eval", file("half.npz"), "--data", file("idx")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "digitnet: error: " + file("half.npz") + ": config layers[0]: 784.5 is not a whole number\n");
  // and a config nested 100,000 deep is one line, not a crash
  npz["config"] = NpyArray::from_string(std::string(100'000, '[') + std::string(100'000, ']'));
  write_npz(file("deep.npz"), npz);
  const auto d = run({"eval", file("deep.npz"), "--data", file("idx")});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("JSON nested 100000 deep; at most 64 levels are read"), std::string::npos) << d.err;
}

TEST_F(RecipeCli, ADeepSweepGridIsOneLine) {
  test::write_text(file("deep.json"), "{\"data\": \"x\", \"grid\": " + std::string(80'000, '[') + "]}");
  const auto r = run({"sweep", file("deep.json")});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("nested"), std::string::npos) << r.err;
}

TEST_F(RecipeCli, TyposGetTheClosestName) {
  const auto c = run({"evaluate"});
  EXPECT_EQ(c.code, 2);  // a usage error, as CLI11's
  EXPECT_EQ(c.err,
            "digitnet: error: 'evaluate' is not a command (did you mean eval?); the commands are train, eval, "
            "predict, presets, data, report, serve, export-onnx, sweep\n");
  const auto r = run({"train", "--data", file("idx"), "--lrr", "3"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "digitnet: error: --lrr is not a flag of train; did you mean --lr? (see digitnet train --help)\n");
}

// The typos of issue 22's first hour, each one line naming what was wrong and what would do.
TEST_F(RecipeCli, TyposOfANewcomer) {
  const auto usage = [&](const std::vector<std::string>& args, const std::string& line) {
    const auto r = run(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, "digitnet: error: " + line + "\n");
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  usage({"trian"},
        "'trian' is not a command (did you mean train?); the commands are train, eval, predict, presets, "
        "data, report, serve, export-onnx, sweep");
  usage({"data", "fecth", "mnist"},
        "'fecth' is not a command of data (did you mean data fetch?); its commands are list, fetch, verify, info, "
        "export");
  usage({"data"}, "data needs a command: list, fetch, verify, info, export (see digitnet data --help)");
  usage({"eval", "m.npz", "--data", file("idx"), "--splt", "all"},
        "--splt is not a flag of eval; did you mean --split? (see digitnet eval --help)");
  usage({"train", "--data", file("idx"), "--epoch", "3"},
        "--epoch is not a flag of train; did you mean --epochs? (see digitnet train --help)");
  usage({"data", "export", "digits", "--fromat", "csv", "-o", file("out")},
        "--fromat is not a flag of data; did you mean --format? (see digitnet data --help)");
  // Bad choices name the flag and list the values it takes.
  refused({"train", "--data", file("idx"), "--activation", "gelu"},
          "--activation: 'gelu' is not one of relu, sigmoid, tanh (did you mean relu?)");
  refused({"train", "--data", file("idx"), "--optimizer", "adamx"},
          "--optimizer: 'adamx' is not one of sgd, momentum, nesterov, adam, adamw (did you mean adam?)");
  const auto f = run({"data", "export", "digits", "--format", "xyz", "-o", file("out")});
  EXPECT_EQ(f.code, 1);
  EXPECT_EQ(f.err, "digitnet: error: --format: 'xyz' is not one of csv, idx or png-folders\n");
}

// --help: the settings' defaults, in groups, and none of CLI11's validator noise.
TEST_F(RecipeCli, HelpHasDefaultsGroupsAndNoNoise) {
  for (const std::vector<std::string>& cmd : std::vector<std::vector<std::string>>{{"--help"},
                                                                                   {"train", "--help"},
                                                                                   {"eval", "--help"},
                                                                                   {"predict", "--help"},
                                                                                   {"data", "--help"},
                                                                                   {"data", "export", "--help"},
                                                                                   {"report", "--help"},
                                                                                   {"serve", "--help"},
                                                                                   {"export-onnx", "--help"},
                                                                                   {"sweep", "--help"}}) {
    const auto r = run(cmd);
    EXPECT_EQ(r.code, 0) << cmd[0];
    for (const char* noise : {"NOT EMPTY", "TEXT:", "|png-folders", "FLOAT:", "INT:"})
      EXPECT_EQ(r.out.find(noise), std::string::npos) << cmd[0] << " shows " << noise << ":\n" << r.out;
  }
  const auto t = run({"train", "--help"});
  for (const char* group : {"Model:", "Optimizer:", "Data:", "Output:", "Run:"})
    EXPECT_NE(t.out.find(group), std::string::npos) << group;
  EXPECT_NE(t.out.find("--epochs N                  Passes over the training set; in [1, 1000000] (default: "),
            std::string::npos)
      << t.out;
}

}  // namespace
}  // namespace digitnet
