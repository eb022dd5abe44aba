// digitnet sweep GRID.json in one process: one table of results, a row per point in the grid's
// order; run again, it trains only the points the table lacks; a bad grid or a table of another
// sweep gets one line naming the file. (tests/dist/mpi_test.cpp runs it under mpirun.)
#include <sstream>

#include <gtest/gtest.h>

#include "test_support.hpp"

namespace digitnet {
namespace {

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    const Dataset train = test::synthetic(300, 6, 6, 1), t = test::synthetic(100, 6, 6, 2);
    test::write_idx_dir(dir_.file("idx"), train, &t);
  }
  std::string file(const std::string& n) const { return dir_.file(n); }
  void grid(const std::string& grid_object) const {
    test::write_text(file("grid.json"), R"({"data": ")" + file("idx") +
                                            R"(", "settings": {"layers": "36,16,10", "epochs": 2}, "grid": )" +
                                            grid_object + "}");
  }
  test::RunResult sweep() const { return test::run_args({"sweep", file("grid.json"), "--threads", "1"}); }
  test::TempDir dir_;
};

TEST_F(Sweep, WritesOneTableOfEveryPointAndResumes) {
  grid(R"({"lr": [0.05, 0.2], "optimizer": ["sgd", "momentum"]})");
  const test::RunResult r = sweep();
  ASSERT_EQ(r.code, 0) << r.err;
  // next to the grid, a row per point: the last key changes fastest
  const std::string table = test::read_text(file("grid.csv"));
  ASSERT_EQ(test::lines(table), 1 + 4) << table;
  EXPECT_EQ(table.rfind("point,lr,optimizer,test_accuracy,val_accuracy,loss,epochs,seconds,rank,note\n", 0), 0u);
  EXPECT_NE(table.find("\n0,0.05,sgd,0."), std::string::npos) << table;
  EXPECT_NE(table.find("\n3,0.2,momentum,"), std::string::npos) << table;
  EXPECT_NE(r.out.find("sweep of " + file("grid.json") + ": 4 points, 0 done before"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("best: point "), std::string::npos) << r.out;

  // a stopped sweep (its last row missing) trains that point alone, and gets the same row but its time
  const std::string cut = table.substr(0, table.rfind('\n', table.size() - 2) + 1);
  test::write_text(file("grid.csv"), cut);
  const test::RunResult again = sweep();
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("4 points, 3 done before"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("point 3 done (4 of 4)"), std::string::npos) << again.out;
  const std::string resumed = test::read_text(file("grid.csv"));
  const auto without_time = [](const std::string& csv) {  // drops ",seconds,rank,note"
    std::string out;
    std::istringstream lines(csv);
    for (std::string line; std::getline(lines, line);) {
      std::size_t at = line.size();
      for (int i = 0; i < 3; ++i) at = line.rfind(',', at - 1);
      out += line.substr(0, at) + "\n";
    }
    return out;
  };
  EXPECT_EQ(without_time(resumed), without_time(table));
}

TEST_F(Sweep, ARunThatFailsIsARowWithItsReason) {
  grid(R"({"lr": [0.1, 1000]})");  // the second diverges
  const test::RunResult r = sweep();
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string table = test::read_text(file("grid.csv"));
  ASSERT_EQ(test::lines(table), 3) << table;
  const std::string last = table.substr(table.rfind('\n', table.size() - 2) + 1);
  EXPECT_EQ(last.rfind("1,", 0), 0u) << last;
  EXPECT_NE(last.find(",,,,,,0,"), std::string::npos) << last;  // no results; rank 0; the reason
  EXPECT_NE(last.find("diverged"), std::string::npos) << last;
}

TEST_F(Sweep, ABadGridOrAnotherSweepsTableIsOneLine) {
  const auto refused = [&](const std::string& needle) {
    const test::RunResult r = sweep();
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(test::lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  };
  test::write_text(file("grid.json"), "{\"data\": 3");
  refused("grid.json: not valid JSON");
  grid(R"({"lr": []})");
  refused(R"(grid's "lr" must be a list of one or more values)");
  grid(R"({"learning_rate": [0.1]})");
  refused("'learning_rate' is not a setting of a recipe");
  grid(R"({"lr": [0.1, -1]})");
  refused("point 1 (lr=-1): lr: -1 is not in (0, 1000]");
  grid(R"({"lr": [0.1]})");
  test::write_text(file("grid.csv"), "point,batch,test_accuracy\n");
  refused("holds another sweep's table");
  test::write_text(file("grid.csv"),
                   "point,lr,test_accuracy,val_accuracy,loss,epochs,seconds,rank,note\n0,0.5,0.9,,0.1,2,1.0,0,\n");
  refused("point 0 was trained with other settings than the grid's now");
}

}  // namespace
}  // namespace digitnet
