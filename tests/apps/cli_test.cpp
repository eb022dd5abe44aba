// The digitnet command as a user runs it. Every bad input gives exactly one line on
// stderr naming the flag or file, and a non-zero exit.
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

using test::run_cli;

int line_count(const std::string& s) { return static_cast<int>(std::count(s.begin(), s.end(), '\n')); }

// A small learnable dataset on disk, shared by the tests below.
class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(400, 6, 6, 1), t = test::synthetic(100, 6, 6, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
    test::write_text(dir_->file("data.csv"), test::to_kaggle_csv(train));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string idx() { return dir_->file("idx"); }
  static std::string file(const std::string& n) { return dir_->file(n); }

  // Expects failure with one line on stderr that mentions `needle`.
  static void expect_one_line_error(const std::string& args, const std::string& needle) {
    SCOPED_TRACE(args);
    const auto r = run_cli(args);
    EXPECT_NE(r.code, 0);
    EXPECT_EQ(line_count(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  }
  static test::TempDir* dir_;
};
test::TempDir* Cli::dir_ = nullptr;

TEST_F(Cli, TrainPrintsOneLinePerEpochAndSaves) {
  const auto r =
      run_cli("train --data " + idx() + " --layers 36,16,10 --epochs 3 --batch 16 --lr 0.1 --save " + file("m.npz"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(line_count(r.out), 7) << r.out;  // 2 header lines, 3 epochs, result, model path
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(file("")) == std::string::npos) {
      EXPECT_LE(line.size(), 80u) << line;  // fits 80 columns
    }
  }
  EXPECT_NE(r.out.find("epoch    3"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(file("m.npz")));
}

TEST_F(Cli, JsonModeIsOnlyJsonLines) {
  const auto r = run_cli("train --json --data " + idx() + " --layers 36,16,10 --epochs 2 --save " + file("j.npz"));
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::vector<nlohmann::json> objs;
  while (std::getline(in, line)) objs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(objs.size(), 3u);
  for (const char* key : {"epoch", "loss", "train_accuracy", "test_accuracy", "seconds"})
    EXPECT_TRUE(objs[0].contains(key)) << key;
  EXPECT_EQ(objs[2]["model"], file("j.npz"));
  EXPECT_GT(objs[2]["test_accuracy"].get<double>(), 0.8);
}

TEST_F(Cli, SameSeedSameWeightsWhateverTheThreadCount) {
  const std::string common = "train --data " + idx() + " --layers 36,64,10 --epochs 2 --seed 5 --save ";
  ASSERT_EQ(run_cli(common + file("s1.npz") + " --threads 1").code, 0);
  ASSERT_EQ(run_cli(common + file("s2.npz") + " --threads 2").code, 0);
  ASSERT_EQ(run_cli(common + file("s3.npz")).code, 0);
  // Only the timings in the config differ, so compare the arrays.
  const auto weights = [](const std::string& path) {
    auto npz = read_npz(path);
    npz.erase("config");
    std::vector<std::uint8_t> all;
    for (const auto& [name, array] : npz) all.insert(all.end(), array.data.begin(), array.data.end());
    return all;
  };
  EXPECT_EQ(weights(file("s1.npz")), weights(file("s2.npz")));
  EXPECT_EQ(weights(file("s1.npz")), weights(file("s3.npz")));
  expect_one_line_error("train --data " + idx() + " --threads -1", "--threads");
}

TEST_F(Cli, EvalAndPredict) {
  ASSERT_EQ(run_cli("train --data " + idx() + " --layers 36,16,10 --epochs 3 --save " + file("e.npz")).code, 0);
  const auto text = run_cli("eval " + file("e.npz") + " --data " + idx() + " --samples 2");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("confusion matrix"), std::string::npos);
  EXPECT_NE(text.out.find("precision"), std::string::npos);
  EXPECT_NE(text.out.find("sample predictions"), std::string::npos);
  const auto js = run_cli("eval --json " + file("e.npz") + " --data " + idx());
  const auto j = nlohmann::json::parse(js.out);
  EXPECT_EQ(j["confusion"].size(), 10u);
  EXPECT_EQ(j["per_class"].size(), 10u);
  EXPECT_GT(j["accuracy"].get<double>(), 0.9);

  // A 6x6 model takes any image, resized plainly.
  std::vector<std::uint8_t> px(30 * 30, 255);
  for (int y = 5; y < 25; ++y) px[y * 30 + 15] = 0;
  test::write_bytes(file("one.png"), test::png(px, 30, 30));
  const auto p = run_cli("predict --json " + file("e.npz") + " " + file("one.png"));
  ASSERT_EQ(p.code, 0) << p.err;
  const auto pj = nlohmann::json::parse(p.out);
  EXPECT_EQ(pj["probabilities"].size(), 10u);
  EXPECT_GE(pj["label"].get<int>(), 0);
}

TEST_F(Cli, ValidationAndEarlyStopping) {
  const auto r = run_cli("train --json --data " + idx() +
                         " --layers 36,32,10 --epochs 20 --val 0.2 --early-stop 2 "
                         "--optimizer adam --lr 0.01 --dropout 0.1 --label-smoothing 0.1 --schedule cosine --save " +
                         file("v.npz"));
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string line;
  std::getline(in, line);
  const auto first = nlohmann::json::parse(line);
  EXPECT_TRUE(first["val_accuracy"].is_number()) << line;
  EXPECT_TRUE(first["lr"].is_number()) << line;
  const auto config = nlohmann::json::parse(read_npz(file("v.npz")).at("config").to_string());
  EXPECT_EQ(config["recipe"]["optimizer"], "adam");
  EXPECT_EQ(config["recipe"]["label_smoothing"], 0.1);
  EXPECT_EQ(config["train_examples"], 320);  // 20% of 400 held out
}

TEST_F(Cli, PresetsAreListedAndFlagsOverrideThem) {
  const auto list = run_cli("presets");
  EXPECT_NE(list.out.find("relu-128-64"), std::string::npos);
  const auto r = run_cli("train --data " + file("data.csv") + " --preset digits-relu-32 --epochs 2 --report-every 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("36,32,10"), std::string::npos) << r.out;  // input adapted to 6x6 data
  EXPECT_NE(r.out.find("epoch    2"), std::string::npos) << r.out;
}

TEST_F(Cli, BadFlagValues) {
  const std::string t = "train --data " + idx() + " ";
  expect_one_line_error(t + "--activation swish", "activation");
  expect_one_line_error(t + "--loss hinge", "loss");
  expect_one_line_error(t + "--init glorot", "--init");
  expect_one_line_error(t + "--batch 0", "--batch");
  expect_one_line_error(t + "--batch many", "--batch");
  expect_one_line_error(t + "--epochs 0", "--epochs");
  expect_one_line_error(t + "--epochs ten", "--epochs");
  expect_one_line_error(t + "--lr -1", "--lr");
  expect_one_line_error(t + "--split half", "--split");
  expect_one_line_error(t + "--normalize minmax", "--normalize");
  expect_one_line_error(t + "--preset nope", "--preset");
  expect_one_line_error(t + "--layers 36,x,10", "--layers");
  expect_one_line_error(t + "--frobnicate", "frobnicate");
  expect_one_line_error(t + "--optimizer rmsprop", "--optimizer");
  expect_one_line_error(t + "--schedule linear", "--schedule");
  expect_one_line_error(t + "--augment blur", "--augment");
  expect_one_line_error(t + "--dropout 1.5", "--dropout");
  expect_one_line_error(t + "--label-smoothing 1", "--label-smoothing");
  expect_one_line_error(t + "--loss mse --label-smoothing 0.1", "--label-smoothing");
  expect_one_line_error(t + "--early-stop 3", "--val");
  expect_one_line_error(t + "--val 1.5", "--val");
  expect_one_line_error("train", "--data");
  expect_one_line_error("", "subcommand");
}

TEST_F(Cli, LayersThatDoNotFitTheData) {
  expect_one_line_error("train --data " + idx() + " --layers 784,10", "input size 784");
  expect_one_line_error("train --data " + idx() + " --layers 36,16,12", "output size 12");
}

TEST_F(Cli, BadFiles) {
  expect_one_line_error("train --data /nonexistent/dir", "/nonexistent/dir");
  test::write_text(file("bad.csv"), "label,a\n1,2\n3\n");
  expect_one_line_error("train --data " + file("bad.csv"), "bad.csv: line 3");
  test::write_text(file("junk.npz"), "not a zip");
  expect_one_line_error("eval " + file("junk.npz") + " --data " + idx(), "junk.npz");
  expect_one_line_error("predict " + file("junk.npz") + " x.png", "junk.npz");
  ASSERT_EQ(run_cli("train --data " + idx() + " --layers 36,10 --epochs 1 --save " + file("p.npz")).code, 0);
  test::write_text(file("notimage.png"), "hello");
  expect_one_line_error("predict " + file("p.npz") + " " + file("notimage.png"), "notimage.png");
  test::write_text(file("small.csv"), test::to_kaggle_csv(test::synthetic(50, 2, 2, 1)));
  expect_one_line_error("eval " + file("p.npz") + " --data " + file("small.csv"), "4 values per example");
}

TEST_F(Cli, DivergingRunNamesTheEpochAndSuggestsSmallerLr) {
  expect_one_line_error(
      "train --data " + idx() + " --layers 36,16,10 --init normal:50 --lr 1000 --epochs 3 --save " + file("nan.npz"),
      "smaller --lr");
  EXPECT_FALSE(std::filesystem::exists(file("nan.npz")));
}

TEST_F(Cli, SaveIntoMissingDirectoryFailsCleanly) {
  expect_one_line_error("train --data " + idx() + " --layers 36,10 --epochs 1 --save /nonexistent/dir/m.npz",
                        "/nonexistent/dir/m.npz");
}

// The ONNX file's contents are checked by tests/data/onnx_test.cpp and tests/python/test_onnx.py.
TEST_F(Cli, ExportOnnx) {
  ASSERT_EQ(run_cli("train --data " + idx() + " --layers 36,8,10 --epochs 1 --save " + file("e.npz")).code, 0);
  const auto r = run_cli("export-onnx " + file("e.npz") + " -o " + file("e.onnx"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("opset 13"), std::string::npos) << r.out;
  EXPECT_GT(std::filesystem::file_size(file("e.onnx")), 36u * 8 * 4);
  expect_one_line_error("export-onnx " + file("missing.npz") + " -o " + file("x.onnx"), "missing.npz");
  expect_one_line_error("export-onnx " + file("e.npz") + " -o /nonexistent/dir/x.onnx", "/nonexistent/dir/x.onnx");
  expect_one_line_error("export-onnx " + file("e.npz"), "--output");
}

}  // namespace
}  // namespace digitnet

namespace digitnet {
namespace {

TEST(CliData, ListInfoExportAndOffline) {
  test::TempDir dir;
  const std::string env = "DIGITNET_DATA=" + dir.path.string() + " DIGITNET_MIRRORS=http://127.0.0.1:1/ ";
  const Dataset train = test::synthetic(50, 6, 6, 1), t = test::synthetic(20, 6, 6, 2);
  test::write_idx_dir(dir.file("idx"), train, &t);
  const auto list = test::run_cli("data list");
  ASSERT_EQ(list.code, 0);
  for (const char* name : {"mnist", "fashion-mnist", "digits", "mnist-10k", "cached", "licence"})
    EXPECT_NE(list.out.find(name), std::string::npos) << name;
  const auto info = test::run_cli("data info " + dir.file("idx") + " --samples 1");
  ASSERT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("50 training + 20 test"), std::string::npos) << info.out;
  const auto exported = test::run_cli("data export " + dir.file("idx") + " --format csv -o " + dir.file("csv"));
  ASSERT_EQ(exported.code, 0) << exported.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("csv/test.csv")));
  // No network: one line saying what was tried and where the files go.
  const auto offline = test::run_cli_env(env, "train --data mnist --json");
  EXPECT_NE(offline.code, 0);
  EXPECT_TRUE(offline.out.empty()) << offline.out;  // --json keeps stdout clean
  const std::string last = offline.err.substr(offline.err.rfind("digitnet: error:"));
  EXPECT_EQ(std::count(last.begin(), last.end(), '\n'), 1) << offline.err;
  EXPECT_NE(last.find("tried http://127.0.0.1:1/train-images-idx3-ubyte.gz"), std::string::npos) << last;
  EXPECT_NE(last.find(dir.path.string() + "/mnist/"), std::string::npos) << last;
  const auto unknown = test::run_cli("train --data mnsit");
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("known dataset"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace digitnet
