// The thread pool: nested calls run inline, and with the default thread count jobs that are
// slower split than on the calling thread alone go back to the calling thread.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"

namespace digitnet {
namespace {

// Runs 1536 jobs (the pool's warm-up of 1024 calls split, then a window split and a window
// not) whose second task is slow on any thread but the caller's, like a core far away, then
// reports whether a quick job's second task ran on another thread.
bool second_task_elsewhere_after_late_helpers() {
  const auto caller = std::this_thread::get_id();
  for (int i = 0; i < 1536; ++i)
    run_parallel(2, [&](int t) {
      if (t == 1 && std::this_thread::get_id() != caller) std::this_thread::sleep_for(std::chrono::microseconds(100));
    });
  std::thread::id second;
  run_parallel(2, [&](int t) {
    if (t == 1) second = std::this_thread::get_id();
  });
  return second != caller;
}

TEST(Parallel, DefaultCountFallsBackToOneCoreWhenHelpersAreLate) {
  set_threads(1);
  set_threads(0);  // a fresh pool, measuring from its first call
  if (threads() < 2) GTEST_SKIP() << "one core";
  EXPECT_FALSE(second_task_elsewhere_after_late_helpers());
  set_threads(2);  // a count the user chose is always used
  EXPECT_TRUE(second_task_elsewhere_after_late_helpers());
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

}  // namespace
}  // namespace digitnet
