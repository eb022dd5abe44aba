// A run killed at any moment and resumed from its checkpoint ends with the same weights, bit
// for bit, as the run never interrupted; SIGINT and SIGTERM finish the step, write a
// checkpoint and say how to resume; a resume that would change the run is refused.
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "digitnet/core/rng.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

using test::Background;
using test::run_args;

// Every stream of randomness a run has (shuffling, dropout, augmentation), Adam's state, a
// schedule, and early stopping's best weights: all must come back from a checkpoint.
class Resume : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(1500, 8, 8, 1), t = test::synthetic(300, 8, 8, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_args(run("reference.npz"));
    ASSERT_EQ(r.code, 0) << r.err;
    run_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& n) { return dir_->file(n); }
  static std::vector<std::string> run(const std::string& save, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"train",     "--data",       file("idx"),  "--layers",  "64,32,10",
                                     "--epochs",  "30",           "--batch",    "16",        "--optimizer",
                                     "adam",      "--lr",         "0.002",      "--dropout", "0.2",
                                     "--augment", "shift:1",      "--schedule", "cosine",    "--val",
                                     "0.1",       "--early-stop", "25",         "--save",    file(save)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  // The weights of two model files are the same bits.
  static void expect_same_weights(const std::string& a, const std::string& b, int expected_arrays = 4) {
    const NpzArchive x = read_npz(file(a)), y = read_npz(file(b));
    int arrays = 0;
    for (const auto& [name, array] : x) {
      if (name == "config") continue;
      ASSERT_TRUE(y.count(name)) << name;
      EXPECT_EQ(array.data, y.at(name).data) << name;
      ++arrays;
    }
    EXPECT_EQ(arrays, expected_arrays);
  }
  static void wait_for(const std::string& path) {
    for (int i = 0; i < 1000 && !fs::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  static test::TempDir* dir_;
  static double run_ms_;  // how long the uninterrupted run took on this machine
};
test::TempDir* Resume::dir_ = nullptr;
double Resume::run_ms_ = 0;

// A kill lands at a random moment after the resumed run has written a checkpoint of its own (one
// time in four, before: while it starts), so every resume makes progress and the moments spread
// over training, checkpoint writes and startup on a fast machine as on a slow one. A chain of
// resumes that reaches the end before the 20th kill is checked and a fresh chain begins.
TEST_F(Resume, KilledAt20RandomMomentsEndsWithTheSameWeights) {
  const std::string ckpt = file("killed.ckpt");
  Rng rng(2026);  // the moments are random, and the same on every run of the test
  const auto written = [&] {
    std::error_code e;
    return fs::last_write_time(ckpt, e);
  };
  int kills = 0;
  for (int runs = 0;; ++runs) {
    ASSERT_LT(runs, 400) << "the run never finished";
    const auto before = written();
    Background p(fs::exists(ckpt) ? std::vector<std::string>{"train", "--resume", ckpt}
                                  : run("killed.npz", {"--checkpoint", ckpt, "--checkpoint-seconds", "0.01"}));
    if (kills < 20) {
      if (rng.below(4) != 0)
        while (p.running() && written() == before) std::this_thread::sleep_for(std::chrono::microseconds(500));
      const auto pause =
          std::chrono::duration<double, std::milli>(run_ms_ * static_cast<double>(rng.below(300)) / 1000);
      std::this_thread::sleep_for(pause);
      if (p.running()) {
        p.signal(SIGKILL);
        if (p.wait() == 128 + SIGKILL) {
          ++kills;
          continue;
        }  // else it ended just before the signal came
      }
    }
    ASSERT_EQ(p.wait(), 0) << p.err();
    expect_same_weights("reference.npz", "killed.npz");
    if (kills == 20) break;
    fs::remove(ckpt);
    fs::remove(file("killed.npz"));
  }
  EXPECT_EQ(kills, 20);
  for (const auto& e : fs::directory_iterator(dir_->path))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path() << " was left behind";
}

TEST_F(Resume, SigintAndSigtermWriteACheckpointAndSayHowToResume) {
  for (const int sig : {SIGINT, SIGTERM}) {
    const std::string name = sig == SIGINT ? "int" : "term";
    const std::string ckpt = file(name + ".ckpt");
    Background p(run(name + ".npz", {"--checkpoint", ckpt}));
    wait_for(ckpt);  // the first epoch has ended: stop in the middle of a later one
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    p.signal(sig);
    EXPECT_EQ(p.wait(), 128 + sig);
    EXPECT_NE(p.err().find("resume with: digitnet train --resume " + ckpt), std::string::npos) << p.err();
    EXPECT_EQ(test::lines(p.err()), 1) << p.err();
    const auto r = run_args({"train", "--resume", ckpt});
    ASSERT_EQ(r.code, 0) << r.err;
    expect_same_weights("reference.npz", name + ".npz");
  }
}

TEST_F(Resume, AStoppedRunWithoutCheckpointFlagStillKeepsItsProgress) {
  Background p(run("plain.npz"));
  ASSERT_TRUE(p.wait_for_output("training ")) << p.err();  // the data is loaded: the run has begun
  p.signal(SIGINT);
  ASSERT_EQ(p.wait(), 130) << p.err();
  EXPECT_TRUE(fs::exists(file("plain.npz.ckpt"))) << p.err();
  ASSERT_EQ(run_args({"train", "--resume", file("plain.npz.ckpt")}).code, 0);
  expect_same_weights("reference.npz", "plain.npz");
}

TEST_F(Resume, FlagsThatWouldChangeTheRunAreRefused) {
  const std::string ckpt = file("short.ckpt");
  ASSERT_EQ(
      run_args({"train", "--data", file("idx"), "--layers", "64,16,10", "--epochs", "2", "--checkpoint", ckpt}).code,
      0);
  const auto r = run_args({"train", "--resume", ckpt, "--lr", "0.5", "--batch", "8"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--lr"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--batch"), std::string::npos) << r.err;
  EXPECT_NE(run_args({"train", "--resume", ckpt, "--epochs", "1"}).code, 0);  // fewer epochs
  EXPECT_NE(run_args({"train", "--resume", ckpt, "--data", file("elsewhere")}).code, 0);
  // More epochs are allowed; so are flags that repeat the run's settings.
  const auto more = run_args({"train", "--resume", ckpt, "--epochs", "3", "--layers", "64,16,10", "--json"});
  EXPECT_EQ(more.code, 0) << more.err;
  EXPECT_NE(more.out.find("\"epoch\":3"), std::string::npos) << more.out;
}

// Batch normalization's running statistics and the weights' moving average are part of the
// state: a run stopped after 3 epochs and resumed to 6 ends as the run of 6, bit for bit.
TEST_F(Resume, BatchNormAndTheAverageComeBackFromACheckpoint) {
  const auto bn = [&](const std::string& save, const std::string& epochs, std::vector<std::string> more) {
    std::vector<std::string> args = {"train",    "--data", file("idx"), "--layers",    "64,32,16,10",
                                     "--epochs", epochs,   "--batch",   "16",          "--batch-norm",
                                     "on",       "--ema",  "0.9",       "--optimizer", "adam",
                                     "--lr",     "0.002",  "--save",    file(save)};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::string ckpt = file("bn.ckpt");
  ASSERT_EQ(run_args(bn("bn-whole.npz", "6", {})).code, 0);
  ASSERT_EQ(run_args(bn("bn-resumed.npz", "3", {"--checkpoint", ckpt})).code, 0);
  const auto r = run_args({"train", "--resume", ckpt, "--epochs", "6"});
  ASSERT_EQ(r.code, 0) << r.err;
  // three layers' weights and biases, two layers' gamma, beta, running mean and variance
  expect_same_weights("bn-whole.npz", "bn-resumed.npz", 6 + 2 * 4);
}

TEST_F(Resume, ACheckpointOfOtherDataIsRefused) {
  const std::string ckpt = file("data.ckpt");
  test::TempDir other;
  test::write_idx_dir(other.file("idx"), test::synthetic(200, 8, 8, 5), nullptr);
  ASSERT_EQ(run_args({"train", "--data", other.file("idx"), "--epochs", "1", "--checkpoint", ckpt}).code, 0);
  test::write_idx_dir(other.file("idx"), test::synthetic(200, 8, 8, 6), nullptr);  // the data changed
  const auto r = run_args({"train", "--resume", ckpt, "--epochs", "2"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("is not the data"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace digitnet
