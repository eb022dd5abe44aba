// What digitnet writes is there whole or not at all: a temp file in the target's directory,
// renamed over it; devices, FIFOs and directories are refused, a symlink is followed, temp
// files of killed runs are removed, and a save path is checked before the run starts.
#include <filesystem>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/npz.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace digitnet {
namespace {

using test::run_args;

class Writing : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    const Dataset train = test::synthetic(200, 6, 6, 1), t = test::synthetic(50, 6, 6, 2);
    test::write_idx_dir(dir_->file("idx"), train, &t);
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string file(const std::string& n) { return dir_->file(n); }
  static test::RunResult train_to(const std::string& save) {
    return run_args({"train", "--data", file("idx"), "--layers", "36,8,10", "--epochs", "2", "--save", save});
  }
  // Files in the directory whose names start with prefix.
  static int count_prefixed(const std::string& prefix) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_->path)) n += e.path().filename().string().starts_with(prefix);
    return n;
  }
  static test::TempDir* dir_;
};
test::TempDir* Writing::dir_ = nullptr;

TEST_F(Writing, ADeviceIsNeverReplaced) {
  const auto r = train_to("/dev/full");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("/dev/full: is a character device"), std::string::npos) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat("/dev/full", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(r.out.find("epoch"), std::string::npos) << "refused before training";
}

TEST_F(Writing, AFifoOrDirectoryAtTheTargetIsRefused) {
  ASSERT_EQ(::mkfifo(file("fifo").c_str(), 0644), 0);
  auto r = train_to(file("fifo"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("is a FIFO"), std::string::npos) << r.err;
  fs::create_directories(file("adir"));
  r = train_to(file("adir"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_directory(file("adir")));
}

TEST_F(Writing, ASymlinkIsFollowedAndKept) {
  fs::create_directories(file("real"));
  fs::create_symlink(file("real/model.npz"), file("link.npz"));
  ASSERT_EQ(train_to(file("link.npz")).code, 0);
  EXPECT_TRUE(fs::is_symlink(file("link.npz")));
  EXPECT_NO_THROW(read_npz(file("real/model.npz")));
}

TEST_F(Writing, ASavePathThatCannotBeWrittenFailsBeforeTraining) {
  const auto r = train_to(file("missing/dir/m.npz"));
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("--save"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("epoch"), std::string::npos) << "refused before training:\n" << r.out;
}

TEST_F(Writing, TempFilesOfKilledRunsAreRemovedByTheNextSave) {
  // A process that has ended: its pid is free.
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = file("m.npz.tmp-" + std::to_string(dead) + ".0");
  test::write_text(stale, "half a model");
  // A live process's temp file (this test's own pid) is not touched.
  const std::string live = file("m.npz.tmp-" + std::to_string(::getpid()) + ".0");
  test::write_text(live, "someone else's write in progress");
  ASSERT_EQ(train_to(file("m.npz")).code, 0);
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  fs::remove(live);
  EXPECT_EQ(count_prefixed("m.npz.tmp-"), 0);
}

TEST(WritingFiles, AWriteThatFailsLeavesNoTempFile) {
  test::TempDir dir;
  const std::string target = dir.file("out.bin");
  {
    TempFile temp(target);
    test::write_text(temp.name(), "partial");
    // never committed: an error (an exception) between writing and renaming
  }
  {
    TempFile temp(target);
    test::write_text(temp.name(), "whole");
    fs::create_directories(target);  // the target turned into a directory meanwhile
    EXPECT_THROW(temp.commit(), Error);
  }
  int left = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) left += e.path().filename() != "out.bin";
  EXPECT_EQ(left, 0);
}

TEST(WritingFiles, AnAtomicWriteReplacesWholeFiles) {
  test::TempDir dir;
  const std::string target = dir.file("f");
  write_file_atomic(target, Bytes{1, 2, 3});
  write_file_atomic(target, Bytes{4, 5});
  EXPECT_EQ(read_file(target), (Bytes{4, 5}));
  int files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++files;
  EXPECT_EQ(files, 1);
}

TEST_F(Writing, AReportThatFailsLeavesNoPage) {
  ASSERT_EQ(train_to(file("r.npz")).code, 0);
  test::write_text(file("not-a-dir"), "a file where --png wants a directory");
  const auto r =
      run_args({"report", file("r.npz"), "--data", file("idx"), "-o", file("r.html"), "--png", file("not-a-dir")});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(test::lines(r.err), 1) << r.err;
  EXPECT_FALSE(fs::exists(file("r.html")));
}

}  // namespace
}  // namespace digitnet
