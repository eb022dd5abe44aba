#pragma once
// A small persistent thread pool for splitting one matrix product between cores.
// Work is split by output elements, and every element is computed the same way
// whichever thread gets it, so results are bit-identical for any thread count.
#include <functional>

namespace digitnet {

// Threads used by the products; 0 = one per core (the default). Returns the count in use.
// With the default, small jobs go back to one core for a while when the others keep
// finishing late (see src/parallel.cpp); a count given here is always used.
int set_threads(int n);
int threads();  // 1 inside a task of run_parallel

// Runs task(t) for t in [0, tasks), task 0 on the calling thread, and waits for all.
// tasks must not exceed threads(). Called from inside a task, runs them all on that thread.
void run_parallel(int tasks, const std::function<void(int)>& task);

// [0, n) in `tasks` contiguous shares, f(begin, end) for each: on the calling thread alone
// when tasks <= 1, else with run_parallel.
template <class I, class F>
void run_shares(int tasks, I n, F&& f) {
  if (tasks <= 1) return f(I(0), n);
  run_parallel(tasks, [&](int t) { f(n * I(t) / I(tasks), n * I(t + 1) / I(tasks)); });
}

}  // namespace digitnet
