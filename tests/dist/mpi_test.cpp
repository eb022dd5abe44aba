// digitnet under mpirun as a user runs it (the build with -DDIGITNET_MPI=ON, as scripts/test.sh builds it):
// -np 2 and -np 3 give the same bits run after run (--reduce exact: for any number), train as
// well as one process, resume from a checkpoint; eval and predict across ranks equal one
// process; a killed rank ends the run within seconds with a line naming it; data missing on
// one rank is reported by that rank's name; a sweep writes one table and resumes.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace digitnet {
namespace {

using Clock = std::chrono::steady_clock;

// mpirun -np N digitnet ARGS..., in the background: stdout and stderr to files.
class Mpirun {
 public:
  // ranks: the argument lists of each group of ranks ({N, args}), joined with ':' (MPMD).
  explicit Mpirun(const std::vector<std::pair<int, std::vector<std::string>>>& groups) {
    // -q: mpirun's own summary of a failed job (a box of several lines) is left out, so that
    // what digitnet says is all there is
    std::vector<std::string> argv{"mpirun", "-q"};
    if (geteuid() == 0) argv.push_back("--allow-run-as-root");
    int total = 0;
    for (const auto& g : groups) total += g.first;
    if (total > static_cast<int>(std::thread::hardware_concurrency())) argv.push_back("--oversubscribe");
    for (std::size_t g = 0; g < groups.size(); ++g) {
      if (g > 0) argv.push_back(":");
      argv.insert(argv.end(), {"-np", std::to_string(groups[g].first), DIGITNET_BINARY});
      argv.insert(argv.end(), groups[g].second.begin(), groups[g].second.end());
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, dir_.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, dir_.file("err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawnp(&pid_, "mpirun", &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  Mpirun(int n, const std::vector<std::string>& args) : Mpirun({{n, args}}) {}
  ~Mpirun() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // The exit status (128 + signal), or -1 if it ran past `limit` (then it is killed).
  int wait(std::chrono::seconds limit = std::chrono::seconds(120)) {
    const auto until = Clock::now() + limit;
    while (pid_ > 0) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (Clock::now() > until) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  std::string out() const { return test::read_text(dir_.file("out")); }
  std::string err() const { return test::read_text(dir_.file("err")); }
  // The pid of rank r (a child of mpirun whose environment says so), or -1.
  int rank_pid(int r) const {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::ifstream stat(entry.path() / "stat");
      std::string line;
      if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
      std::istringstream rest(line.substr(line.rfind(')') + 2));
      char state = 0;
      int ppid = 0;
      rest >> state >> ppid;
      if (ppid != pid_) continue;
      const std::string env = test::read_text((entry.path() / "environ").string());
      if (env.find("OMPI_COMM_WORLD_RANK=" + std::to_string(r) + '\0') != std::string::npos) return std::stoi(name);
    }
    return -1;
  }

 private:
  test::TempDir dir_;
  pid_t pid_ = -1;
};

struct Ran {
  int code;
  std::string out, err;
};

Ran mpirun(int n, const std::vector<std::string>& args) {
  Mpirun m(n, args);
  const int code = m.wait();
  return {code, m.out(), m.err()};
}

class Mpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(1200, 8, 8, 1), t = test::synthetic(400, 8, 8, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
    const Dataset other = test::synthetic(1200, 8, 8, 3);
    test::write_idx_dir(dir_->file("other"), other, &t);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& n) { return dir_->file(n); }
  // A small run with every stream of randomness (shuffling, dropout, augmentation) and Adam.
  static std::vector<std::string> train(const std::string& save, std::vector<std::string> extra = {},
                                        const std::string& epochs = "4") {
    std::vector<std::string> args = {"train",    "--data",    file("idx"), "--layers",    "64,32,10", "--epochs",
                                     epochs,     "--batch",   "40",        "--optimizer", "adam",     "--lr",
                                     "0.003",    "--dropout", "0.2",       "--augment",   "shift:1",  "--save",
                                     file(save), "--threads", "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static NpzArchive weights(const std::string& name) {
    NpzArchive a = read_npz(file(name));
    a.erase("config");
    return a;
  }
  static bool same_weights(const std::string& a, const std::string& b) {
    const NpzArchive x = weights(a), y = weights(b);
    if (x.size() != y.size() || x.empty()) return false;
    for (const auto& [name, array] : x)
      if (!y.count(name) || y.at(name).data != array.data) return false;
    return true;
  }
  static test::TempDir* dir_;
};
test::TempDir* Mpi::dir_ = nullptr;

TEST_F(Mpi, TwoRunsGiveTheSameBits) {
  for (int n : {2, 3}) {
    const std::string a = "same-" + std::to_string(n) + "a.npz", b = "same-" + std::to_string(n) + "b.npz";
    const Ran x = mpirun(n, train(a)), y = mpirun(n, train(b));
    ASSERT_EQ(x.code, 0) << x.err;
    ASSERT_EQ(y.code, 0) << y.err;
    EXPECT_TRUE(same_weights(a, b)) << n << " processes";
    // rank 0 alone prints: one header, one line per epoch, the result
    EXPECT_EQ(test::lines(x.out), 2 + 4 + 2) << x.out;
    EXPECT_NE(x.out.find(fmt::format("1 threads x {} processes (--reduce ordered)", n)), std::string::npos) << x.out;
  }
}

TEST_F(Mpi, ExactGivesTheSameBitsForAnyNumberOfProcesses) {
  const auto exact = [&](const std::string& save) { return train(save, {"--reduce", "exact", "--micro-batch", "8"}); };
  const test::RunResult alone = test::run_args(exact("exact-alone.npz"));
  ASSERT_EQ(alone.code, 0) << alone.err;
  for (int n : {1, 2, 3}) {
    const std::string save = "exact-" + std::to_string(n) + ".npz";
    const Ran r = mpirun(n, exact(save));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(same_weights(save, "exact-alone.npz")) << n << " processes";
  }
}

// Batch normalization's statistics are each micro-batch's (ghost batches of --micro-batch rows),
// whichever process computes them, and their sums are reduced exactly with the gradients: the
// same bits for any number of processes, the weights' moving average too.
TEST_F(Mpi, ExactWithBatchNormGivesTheSameBitsForAnyNumberOfProcesses) {
  const auto exact = [&](const std::string& save) {
    return train(save, {"--reduce", "exact", "--micro-batch", "8", "--batch-norm", "on", "--ema", "0.9"});
  };
  const test::RunResult alone = test::run_args(exact("bn-alone.npz"));
  ASSERT_EQ(alone.code, 0) << alone.err;
  ASSERT_TRUE(weights("bn-alone.npz").count("mean1"));
  for (int n : {2, 3}) {
    const std::string save = "bn-" + std::to_string(n) + ".npz";
    const Ran r = mpirun(n, exact(save));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(same_weights(save, "bn-alone.npz")) << n << " processes";
  }
}

TEST_F(Mpi, TrainsAsWellAsOneProcess) {
  // Seed 001's network on scikit-learn's digits, full batch: gradient descent, whose path the
  // rounding of the sums hardly moves; 0.3 points is one test example of 359.
  const std::vector<std::string> args = {"train",    "--data", "digits", "--preset",  "digits-relu-32",
                                         "--epochs", "300",    "--json", "--threads", "1"};
  const auto last = [](const std::string& out, const char* key) {
    std::istringstream lines(out);
    std::string line;
    double v = -1;
    while (std::getline(lines, line))
      if (const auto j = nlohmann::json::parse(line); j.contains(key) && j[key].is_number()) v = j[key].get<double>();
    return v;
  };
  const test::RunResult alone = test::run_args(args);
  if (alone.code != 0 && alone.err.find("digits") != std::string::npos)
    GTEST_SKIP() << "scikit-learn's digits are not installed (scripts/install-deps.sh installs them): " << alone.err;
  ASSERT_EQ(alone.code, 0) << alone.err;
  for (const auto& [n, reduce] : {std::pair{2, "ordered"}, std::pair{3, "exact"}}) {
    std::vector<std::string> shared = args;
    shared.insert(shared.end(), {"--reduce", reduce});
    const Ran r = mpirun(n, shared);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NEAR(last(r.out, "test_accuracy"), last(alone.out, "test_accuracy"), 0.003) << n << " processes, " << reduce;
    EXPECT_NEAR(last(r.out, "loss"), last(alone.out, "loss"), 1e-4 * last(alone.out, "loss")) << n << ", " << reduce;
  }
}

TEST_F(Mpi, ResumesFromItsCheckpointWithTheSameBits) {
  const Ran whole = mpirun(2, train("whole.npz", {}, "6"));
  ASSERT_EQ(whole.code, 0) << whole.err;
  // Stopped after 3 epochs (a checkpoint each), then resumed on 2 processes.
  const Ran first = mpirun(2, train("resumed.npz", {"--checkpoint", file("run.ckpt")}, "3"));
  ASSERT_EQ(first.code, 0) << first.err;
  const Ran second = mpirun(2, {"train", "--resume", file("run.ckpt"), "--epochs", "6", "--threads", "1"});
  ASSERT_EQ(second.code, 0) << second.err;
  EXPECT_NE(second.out.find("resumed from"), std::string::npos) << second.out;
  EXPECT_TRUE(same_weights("whole.npz", "resumed.npz"));
  // --reduce ordered's bits depend on the number of processes: another number is refused
  const Ran three = mpirun(3, {"train", "--resume", file("run.ckpt"), "--epochs", "6"});
  EXPECT_EQ(three.code, 1);
  EXPECT_NE(three.err.find("was trained by 2 processes with --reduce ordered"), std::string::npos) << three.err;
  EXPECT_EQ(test::lines(three.err), 1) << three.err;
}

TEST_F(Mpi, AnExactRunResumesOnAnyNumberOfProcesses) {
  const auto exact = [&](const std::string& save, std::vector<std::string> more, const std::string& epochs) {
    more.insert(more.end(), {"--reduce", "exact"});
    return train(save, more, epochs);
  };
  ASSERT_EQ(mpirun(3, exact("exact-whole.npz", {}, "6")).code, 0);
  ASSERT_EQ(mpirun(2, exact("exact-resumed.npz", {"--checkpoint", file("exact.ckpt")}, "3")).code, 0);
  const Ran r = mpirun(3, {"train", "--resume", file("exact.ckpt"), "--epochs", "6", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(same_weights("exact-whole.npz", "exact-resumed.npz"));
}

TEST_F(Mpi, AKilledRankEndsTheRunWithALineNamingIt) {
  Mpirun run(3, train("killed.npz", {}, "100000"));
  // once it trains (rank 0 prints a line an epoch), kill rank 1
  for (int i = 0; i < 500 && run.out().find("epoch") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int pid = run.rank_pid(1);
  ASSERT_GT(pid, 0) << run.err();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  const auto killed = Clock::now();
  const int code = run.wait(std::chrono::seconds(30));
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  EXPECT_NE(code, 0);
  EXPECT_NE(code, -1) << "still running after 30 s";
  EXPECT_LT(seconds, 10);
  EXPECT_NE(run.err().find("digitnet: error: rank 1 ("), std::string::npos) << run.err();
  EXPECT_NE(run.err().find(fmt::format("ended while the others were waiting for it (pid {})", pid)), std::string::npos)
      << run.err();
}

TEST_F(Mpi, DataMissingOnOneRankIsReportedByItsName) {
  // Rank 1 is given a path that is not there (on a cluster: a file one machine lacks).
  std::vector<std::string> there = train("x.npz"), missing = train("x.npz");
  missing[2] = file("nowhere");
  Mpirun m({{1, there}, {1, missing}});
  EXPECT_EQ(m.wait(), 1);
  EXPECT_NE(m.err().find("digitnet: error: --data: "), std::string::npos) << m.err();
  EXPECT_NE(m.err().find("(on rank 1 ("), std::string::npos) << m.err();
  EXPECT_NE(m.err().find("nowhere"), std::string::npos) << m.err();
  EXPECT_EQ(test::lines(m.err()), 1) << m.err();
  // other data on one rank: named too
  std::vector<std::string> other = train("x.npz");
  other[2] = file("other");
  Mpirun d({{2, there}, {1, other}});
  EXPECT_EQ(d.wait(), 1);
  EXPECT_NE(d.err().find("--data: rank 2 ("), std::string::npos) << d.err();
  EXPECT_NE(d.err().find("has other data than rank 0"), std::string::npos) << d.err();
}

// Ranks started with different recipes stop within seconds, every one, with one line naming the
// setting: never a hang (different epochs) or heap corruption (different layers or batch).
TEST_F(Mpi, RanksWithDifferentRecipesStopNamingTheSetting) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--layers", "64,16,10"}, {"--batch", "7"}, {"--epochs", "9"}, {"--lr", "0.1"}, {"--optimizer", "sgd"}};
  for (const int n : {2, 3}) {
    for (const auto& [flag, value] : cases) {
      SCOPED_TRACE(fmt::format("{} ranks, {} {} on the last", n, flag, value));
      std::vector<std::string> other = train("x.npz");
      const auto at = std::find(other.begin(), other.end(), flag);
      ASSERT_NE(at, other.end());
      *(at + 1) = value;
      Mpirun m({{n - 1, train("x.npz")}, {1, other}});
      const auto start = Clock::now();
      const int code = m.wait(std::chrono::seconds(60));
      EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 20);
      EXPECT_EQ(code, 1) << m.err();
      EXPECT_EQ(test::lines(m.err()), 1) << m.err();
      EXPECT_EQ(m.err().rfind("digitnet: error: " + flag + ": rank " + std::to_string(n - 1) + " (", 0), 0u) << m.err();
      EXPECT_NE(m.err().find("every process must run the same recipe"), std::string::npos) << m.err();
    }
  }
  // the threads are each process's own
  std::vector<std::string> fewer = train("t.npz");
  fewer.back() = "2";
  Mpirun m({{1, train("t.npz")}, {1, fewer}});
  EXPECT_EQ(m.wait(), 0) << m.err();
}

TEST_F(Mpi, EvalAndPredictAcrossRanksEqualOneProcess) {
  ASSERT_EQ(test::run_args(train("model.npz")).code, 0);
  const std::vector<std::string> eval = {"eval", file("model.npz"), "--data", file("idx"), "--json"};
  const test::RunResult alone = test::run_args(eval);
  ASSERT_EQ(alone.code, 0) << alone.err;
  for (int n : {2, 3}) {
    const Ran r = mpirun(n, eval);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << n << " processes";
  }
  // the text report too (its samples draw on the gathered probabilities)
  const std::vector<std::string> text = {"eval", file("model.npz"), "--data", file("idx"), "--misclassified", "3"};
  EXPECT_EQ(mpirun(3, text).out, test::run_args(text).out);

  // predict: 7 images over 3 ranks, in order; an unreadable one stops it as it stops one process
  std::vector<std::string> predict = {"predict", file("model.npz"), "--json"};
  const Dataset d = test::synthetic(7, 8, 8, 4);
  for (std::size_t i = 0; i < d.size(); ++i) {
    const std::string png = file("img" + std::to_string(i) + ".png");
    test::write_bytes(png, test::png({d.image(i), 64}, 8, 8));
    predict.push_back(png);
  }
  const test::RunResult one = test::run_args(predict);
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(test::lines(one.out), 7);
  EXPECT_EQ(mpirun(3, predict).out, one.out);
  test::write_text(file("img5.png"), "not a png");
  const test::RunResult bad = test::run_args(predict);
  const Ran shared = mpirun(3, predict);
  EXPECT_EQ(shared.code, bad.code);
  EXPECT_EQ(shared.out, bad.out);  // the first five, then
  EXPECT_EQ(shared.err, bad.err);  // the same line naming the file
  EXPECT_EQ(test::lines(shared.err), 1) << shared.err;
}

TEST_F(Mpi, SweepWritesOneTableAndResumes) {
  test::write_text(file("grid.json"), R"({"data": ")" + file("idx") +
                                          R"(", "settings": {"layers": "64,16,10", "epochs": 2},
      "grid": {"lr": [0.05, 0.2], "batch": [16, 64], "optimizer": ["sgd", "momentum"]}})");
  const std::vector<std::string> sweep = {"sweep", file("grid.json"), "--out", file("grid.csv"), "--threads", "1"};
  const Ran r = mpirun(3, sweep);
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string table = test::read_text(file("grid.csv"));
  EXPECT_EQ(test::lines(table), 1 + 8) << table;
  EXPECT_EQ(table.rfind("point,lr,batch,optimizer,test_accuracy,val_accuracy,loss,epochs,seconds,rank,note\n", 0), 0u);
  EXPECT_NE(r.out.find("best: point "), std::string::npos) << r.out;
  // every rank took points
  for (int rank : {0, 1, 2}) EXPECT_NE(table.find(fmt::format(",{},\n", rank)), std::string::npos) << table;
  // the same results as one process alone, point for point (each point trains alone)
  const auto accuracies = [](const std::string& csv) {
    std::vector<std::string> acc;
    std::istringstream lines(csv);
    std::string line;
    std::getline(lines, line);
    while (std::getline(lines, line)) {
      std::vector<std::string> f;
      std::istringstream fields(line);
      for (std::string x; std::getline(fields, x, ',');) f.push_back(x);
      acc.push_back(f.at(4));
    }
    return acc;
  };
  const test::RunResult one = test::run_args({"sweep", file("grid.json"), "--out", file("one.csv"), "--threads", "1"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_EQ(accuracies(test::read_text(file("one.csv"))), accuracies(table));
  // run again: nothing left to do; with a row removed, only that point is trained
  const Ran again = mpirun(2, sweep);
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("8 points, 8 done before"), std::string::npos) << again.out;
  std::string cut = table.substr(0, table.rfind('\n', table.size() - 2) + 1);
  test::write_text(file("grid.csv"), cut);
  const Ran rest = mpirun(2, sweep);
  ASSERT_EQ(rest.code, 0) << rest.err;
  EXPECT_NE(rest.out.find("8 points, 7 done before"), std::string::npos) << rest.out;
  EXPECT_NE(rest.out.find("point 7 done"), std::string::npos) << rest.out;
  EXPECT_EQ(accuracies(test::read_text(file("grid.csv"))), accuracies(table));
}

TEST_F(Mpi, CommandsThatRunAloneSayHowToStartThem) {
  const Ran r = mpirun(2, {"presets"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("digitnet: error: 'presets' runs as one process: start it without mpirun", 0), 0u) << r.err;
  const Ran flags = mpirun(2, {"train", "--epochs", "0", "--data", file("idx")});
  EXPECT_EQ(flags.code, 1);
  EXPECT_EQ(flags.err, "digitnet: error: --epochs: 0 is not a whole number from 1 to 1000000\n");
}

}  // namespace
}  // namespace digitnet
