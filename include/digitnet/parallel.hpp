#pragma once
// A small persistent thread pool for splitting one matrix product between cores.
// Work is split by output elements, and every element is computed the same way
// whichever thread gets it, so results are bit-identical for any thread count.
#include <type_traits>

namespace digitnet {

// Threads used by the products; 0 = one per core (the default). Returns the count in use.
// With the default, small jobs go back to one core for a while when the others keep
// finishing late (see src/parallel.cpp); a count given here is always used.
int set_threads(int n);
int threads();  // 1 inside a task of run_parallel

// A borrowed reference to a callable taking the task index: unlike std::function it never
// allocates (a capturing lambda did, on every call: once per product).
class TaskRef {
 public:
  template <class F>
  TaskRef(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert as to std::function
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, int t) { (*static_cast<std::remove_reference_t<F>*>(o))(t); }) {}
  void operator()(int t) const { call_(object_, t); }

 private:
  void* object_;
  void (*call_)(void*, int);
};

// Runs task(t) for t in [0, tasks), task 0 on the calling thread, and waits for all.
// tasks must not exceed threads(). Called from inside a task, runs them all on that thread.
void run_parallel(int tasks, TaskRef task);

// [0, n) in `tasks` contiguous shares, f(begin, end) for each: on the calling thread alone
// when tasks <= 1, else with run_parallel.
template <class I, class F>
void run_shares(int tasks, I n, F&& f) {
  if (tasks <= 1) return f(I(0), n);
  run_parallel(tasks, [&](int t) { f(n * I(t) / I(tasks), n * I(t + 1) / I(tasks)); });
}

}  // namespace digitnet
