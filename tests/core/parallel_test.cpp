// The thread pool: nested calls run inline, a late worker's task is taken over, and with the
// default thread count training steps that are slower split than on the calling thread alone
// go back to the calling thread.
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"

namespace digitnet {
namespace {

void spin_for(std::chrono::microseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Trains 400 "steps" (the pool's warm-up of 4 steps split, then a window of 64 steps on one
// core and a window split) of one job each, a job whose second task takes a millisecond, like
// a core far away, and reports whether the pool would then split such a job. The millisecond
// is spent by whichever thread runs the second task: when the worker is late (its core held by
// another test under ctest -j) the caller takes the task over (38f5d0c), and a task that was
// slow only on the worker made a split step as fast as a serial one, so that the choice came
// down to noise (2 failures in 20 runs with both cores busy). The caller's own task takes
// 20 us, so a split step takes 50 times a serial one.
bool split_after_slow_splits(double work) {
  for (int i = 0; i < 400; ++i) {
    training_step();
    const int tasks = split_now(work) ? 2 : 1;
    run_parallel(tasks, [&](int t) {
      if (t == 0) spin_for(std::chrono::microseconds(20));
      if (t == 1) spin_for(std::chrono::milliseconds(1));
    });
  }
  return split_now(work);
}

TEST(Parallel, DefaultCountFallsBackToOneCoreWhenSplitStepsAreSlower) {
  watch_run_queue(false);  // the timing alone, whatever else the machine runs (ctest -j)
  set_threads(1);
  set_threads(0);  // a fresh pool, measuring from its first step
  if (threads() < 2) GTEST_SKIP() << "one core";
  EXPECT_TRUE(split_now(1e6));  // the warm-up splits
  EXPECT_FALSE(split_after_slow_splits(1e6));
  // Jobs of a size the timing did not see: another mix (a new batch size), split until timed.
  EXPECT_TRUE(split_now(1e9));
  set_threads(2);  // a count the user chose is always used
  EXPECT_TRUE(split_after_slow_splits(1e6));
  set_threads(0);
  watch_run_queue(true);
}

// With another thread running on every core (here this process's, which the pool does not
// own), the default pool keeps every training step on one core from its first: no warm-up
// split, and no split window timed, since the run queue shows the workers would share a core.
TEST(Parallel, DefaultCountStaysOnOneCoreWhileOtherThreadsHoldTheCores) {
  set_threads(1);
  set_threads(0);
  if (threads() < 2) GTEST_SKIP() << "one core";
  std::atomic<bool> stop{false};
  std::vector<std::thread> others;
  for (unsigned i = 0; i < std::thread::hardware_concurrency(); ++i)
    others.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // A run queue that cannot be read, or is not the machine's (a sandbox's), does not count
  // them: nothing to test.
  const bool counted = runnable_threads() >= static_cast<int>(others.size());
  int split_steps = 0;
  for (int i = 0; i < 400 && counted; ++i) {
    training_step();
    split_steps += split_now(1e6);
  }
  stop.store(true);
  for (auto& t : others) t.join();
  if (!counted) GTEST_SKIP() << "the run queue (/proc/loadavg) does not count the threads running";
  EXPECT_EQ(split_steps, 0);
  set_threads(0);
}

// Every task of every job runs once, whichever thread takes it: a task whose worker is late
// (asleep, or its core busy) is taken by a thread that has finished its own. With more threads
// than cores, and pauses in which the workers go to sleep (after 200 us without a job), the
// caller finishes its empty task long before a sleeping worker wakes (tens of microseconds).
TEST(Parallel, EveryTaskRunsOnceAndLateWorkersTasksAreTakenOver) {
  set_threads(4);
  const auto caller = std::this_thread::get_id();
  int taken_over = 0;
  for (int job = 0; job < 3000; ++job) {
    if (job % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const int tasks = 2 + job % 3;
    std::atomic<int> runs[4] = {};
    std::atomic<int> by_caller{0};
    run_parallel(tasks, [&](int t) {
      runs[t].fetch_add(1);
      if (t != 0 && std::this_thread::get_id() == caller) by_caller.fetch_add(1);
    });
    for (int t = 0; t < 4; ++t) ASSERT_EQ(runs[t].load(), t < tasks ? 1 : 0) << "job " << job << ", task " << t;
    taken_over += by_caller.load();
  }
  EXPECT_GT(taken_over, 0);
  set_threads(0);
}

TEST(Parallel, NestedCallsRunOnTheTaskThread) {
  set_threads(2);
  std::thread::id outer[2], inner[2][2];
  run_parallel(2, [&](int t) {
    outer[t] = std::this_thread::get_id();
    EXPECT_EQ(threads(), 1);
    run_parallel(2, [&](int u) { inner[t][u] = std::this_thread::get_id(); });
  });
  for (int t = 0; t < 2; ++t)
    for (int u = 0; u < 2; ++u) EXPECT_EQ(inner[t][u], outer[t]);
  set_threads(0);
}

TEST(Parallel, RunAloneKeepsItsJobsOnTheCallingThread) {
  set_threads(2);
  const auto caller = std::this_thread::get_id();
  std::thread::id inner[2];
  run_alone([&](int t) {
    EXPECT_EQ(t, 0);
    EXPECT_EQ(threads(), 1);
    run_parallel(2, [&](int u) { inner[u] = std::this_thread::get_id(); });
  });
  EXPECT_EQ(inner[0], caller);
  EXPECT_EQ(inner[1], caller);
  EXPECT_EQ(threads(), 2);
  // however the task ends, the caller's jobs split again afterwards
  EXPECT_THROW(run_alone([](int) { throw std::runtime_error("task failed"); }), std::runtime_error);
  EXPECT_EQ(threads(), 2);
  set_threads(0);
}

}  // namespace
}  // namespace digitnet
