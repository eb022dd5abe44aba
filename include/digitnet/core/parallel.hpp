#pragma once
// A small persistent thread pool. Work is split by output elements, and every element is
// computed the same way whichever thread gets it, so results are bit-identical for any thread
// count. When a split pays, and what the shares are, is decided in one place: src/kernels/split.hpp.
#include <algorithm>
#include <type_traits>
#include <utility>

namespace digitnet {

// Threads used by the products; 0 = one per core (the default). Returns the count in use.
// With the default, training steps go back to one core for a while when splitting them has
// been slower (split_now, src/core/parallel.cpp); a count given here is always used.
int set_threads(int n);
int threads();  // 1 inside a task of run_parallel
// The pool thread running the caller: 0 for the thread that called run_parallel (and for any
// thread outside the pool), t for worker t. Tasks that the pool runs on one thread share its index.
int current_core();
// Whether the pool's other threads are awake now, so that a job handed to them starts at once.
// While they sleep, asking often (jobs back to back) wakes them for the next ones.
bool cores_awake();
// Whether to split a job of `work` (its size, in multiply-adds: kernels/split.hpp) that could be
// split now: always with a thread count the user set; with the default, the way the pool last
// timed faster for the current mix of jobs. Asked once per job, before it runs.
bool split_now(double work);
// A training step begins (Network::train_step): the adaptive pool times its choice over windows
// of whole steps, so that both ways are timed on the same work.
void training_step();
// Whether the adaptive pool skips timing a split while other processes hold the cores its
// workers would need (the machine's run queue); on unless turned off (tests of the timing).
void watch_run_queue(bool on);
// The machine's threads running or waiting to run now, the caller included (the kernel's count
// in /proc/loadavg); -1 where it cannot be read.
int runnable_threads();

// A borrowed reference to a callable (the callable must outlive the call it is passed to):
// unlike std::function it never allocates (a capturing lambda did, once per product).
template <class Signature>
class FunctionRef;
template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FunctionRef>>>
  FunctionRef(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert as to std::function
      : object_(const_cast<void*>(static_cast<const void*>(&f))), call_([](void* o, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(args)...);
        }) {}
  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};
using TaskRef = FunctionRef<void(int)>;  // a task, given its index

// Runs task(t) for t in [0, tasks), task 0 on the calling thread, and waits for all. Task t
// is meant for worker t, but a thread that has finished its own task takes over any task not
// yet begun, so a late worker (asleep, or on a core another process holds) delays the job by
// the task it took only. tasks must not exceed threads(). Called from inside a task, runs them
// all on that thread.
void run_parallel(int tasks, TaskRef task);
// Runs task(0) on the calling thread as a task of its own, with no hand-off: the jobs inside it
// run on this thread (threads() is 1 there), as they would inside a task of run_parallel. For a
// phase that must stay on one core while the pool has more (kernels/split.hpp).
void run_alone(TaskRef task);

// Share t of [0, n) split `tasks` ways in whole blocks of `grain` (whole vectors or tiles;
// the last block may be short): {begin, end}, possibly empty.
inline std::pair<int, int> block_share(int n, int grain, int t, int tasks) {
  const int blocks = (n + grain - 1) / grain;
  return {std::min(n, blocks * t / tasks * grain), std::min(n, blocks * (t + 1) / tasks * grain)};
}

// Share t of [0, n) split `parts` ways, as even as whole items allow: {begin, end}.
template <class I>
std::pair<I, I> even_share(I n, I t, I parts) {
  return {n * t / parts, n * (t + 1) / parts};
}

// [0, n) in `tasks` contiguous shares (even_share), f(begin, end) for each: on the calling thread alone
// when tasks <= 1, else with run_parallel.
template <class I, class F>
void run_shares(int tasks, I n, F&& f) {
  if (tasks <= 1) return f(I(0), n);
  run_parallel(tasks, [&](int t) {
    const auto [begin, end] = even_share(n, I(t), I(tasks));
    f(begin, end);
  });
}

}  // namespace digitnet
