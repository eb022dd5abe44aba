// Every flag refuses values that are not finite, are empty, negative where they cannot be, or
// out of range: one line on stderr naming the flag, a non-zero exit, and nothing trained.
#include <gtest/gtest.h>

#include "test_support.hpp"

namespace digitnet {
namespace {

class Flags : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(100, 6, 6, 1), t = test::synthetic(20, 6, 6, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
  }
  static void TearDownTestSuite() { delete dir_; }

  // `command` then the flag with each bad value: refused, naming the flag.
  static void expect_refused(const std::vector<std::string>& command, const std::string& flag,
                             const std::vector<std::string>& values) {
    for (const auto& v : values) {
      std::vector<std::string> args = command;
      args.push_back(flag);
      args.push_back(v);
      SCOPED_TRACE(flag + " '" + v + "'");
      const auto r = test::run_args(args);
      EXPECT_NE(r.code, 0);
      EXPECT_EQ(test::lines(r.err), 1) << r.err;
      EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
      EXPECT_EQ(r.out.find("epoch"), std::string::npos) << r.out;
    }
  }
  static std::vector<std::string> train() { return {"train", "--data", dir_->file("idx"), "--epochs", "1"}; }
  static test::TempDir* dir_;
};
test::TempDir* Flags::dir_ = nullptr;

const std::vector<std::string> kNotFinite = {"", "nan", "inf", "-inf", "abc"};

TEST_F(Flags, TrainNumbersMustBeFiniteAndInRange) {
  const auto with = [](std::vector<std::string> extra) {
    std::vector<std::string> v = kNotFinite;
    v.insert(v.end(), extra.begin(), extra.end());
    return v;
  };
  expect_refused({"train", "--data", dir_->file("idx")}, "--epochs", with({"0", "-1", "2.5", "99999999999"}));
  expect_refused(train(), "--lr", with({"0", "-0.1"}));
  expect_refused(train(), "--report-every", with({"0", "-3"}));
  expect_refused(train(), "--momentum", with({"1", "-0.1", "5"}));
  expect_refused(train(), "--beta1", with({"1", "-0.5"}));
  expect_refused(train(), "--beta2", with({"1.5", "-1"}));
  expect_refused(train(), "--eps", with({"0", "-1e-8", "1e30"}));
  expect_refused(train(), "--weight-decay", with({"-0.1", "1e30"}));
  expect_refused(train(), "--l2", with({"-1", "1e30"}));
  expect_refused(train(), "--clip-norm", with({"-1", "1e30"}));
  expect_refused(train(), "--warmup", with({"-1", "2"}));  // longer than the run's one epoch
  expect_refused(train(), "--label-smoothing", with({"1", "-0.1"}));
  expect_refused(train(), "--val", with({"1", "-0.2"}));
  expect_refused(train(), "--early-stop", with({"-1", "1.5"}));
  expect_refused(train(), "--dropout", with({"1", "-0.5", "0.2,nan"}));
  expect_refused(train(), "--batch", with({"0", "-32", "1.5"}));
  expect_refused(train(), "--threads", with({"-1", "100000"}));
  expect_refused(train(), "--checkpoint-every", with({"0", "-2"}));
  expect_refused(train(), "--checkpoint-seconds", with({"0", "-1"}));
}

TEST_F(Flags, SeedsAreWholeNumbersFrom0To2Pow64Minus1) {
  expect_refused(train(), "--seed", {"", "-1", "18446744073709551616", "99999999999999999999", "1.5", "0x10", "nan"});
  EXPECT_EQ(test::run_args({"train", "--data", dir_->file("idx"), "--epochs", "1", "--layers", "36,10", "--seed",
                            "18446744073709551615"})
                .code,
            0);
}

TEST_F(Flags, NumbersInsideSpecsAreChecked) {
  expect_refused(train(), "--init",
                 {"", "normal:", "normal:nan", "normal:inf", "normal:-1", "normal:1e30", "uniform:0"});
  expect_refused(train(), "--schedule",
                 {"", "step:nan:0.5", "step:2:inf", "step:0:0.5", "step:2:1.5", "step:-1:0.5", "step:2"});
  expect_refused(train(), "--augment", {"", "shift:nan", "shift:2.5", "shift:-1", "rotate:inf", "rotate:1e9"});
  expect_refused(train(), "--split", {"", "random:nan", "random:1", "dev:-1", "dev:0"});
  expect_refused(train(), "--layers", {"", "36,,10", "36,nan,10", "36,-5,10"});
}

TEST_F(Flags, TextFlagsRefuseEmptyValues) {
  for (const char* flag :
       {"--activation", "--loss", "--normalize", "--optimizer", "--preset", "--save", "--checkpoint", "--resume"})
    expect_refused(train(), flag, {""});
  expect_refused({"train", "--epochs", "1"}, "--data", {""});
}

TEST_F(Flags, OtherCommandsToo) {
  expect_refused({"eval", "m.npz", "--data", dir_->file("idx")}, "--seed", {"-1", ""});
  expect_refused({"eval", "m.npz", "--data", dir_->file("idx")}, "--samples", {"-1", "nan", ""});
  expect_refused({"data", "export", "digits", "--format", "csv", "-o", dir_->file("x")}, "--seed", {"-1", ""});
  expect_refused({"serve", "m.npz"}, "--port", {"-1", "70000", "", "nan"});
}

}  // namespace
}  // namespace digitnet
