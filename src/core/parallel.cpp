#include "digitnet/core/parallel.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace digitnet {
namespace {

// Set while a thread runs a pool task: products inside it run on that thread alone.
thread_local bool in_task = false;
thread_local int core_index = 0;  // the worker's index in the pool; 0 off the pool

// Workers spin briefly between jobs (a batch's products come microseconds apart), then
// sleep on the atomic so an idle pool costs nothing.
//
// Adaptive (the default thread count): on shared virtual machines the other cores are at
// times far away (every cache line that crosses takes long), and then splitting a product of
// a few microseconds costs more than it saves. So the pool times a window of calls split and
// the next window on the calling thread alone, and uses the faster way for the next stretch
// of calls, then measures again. (A training step makes the same calls every batch, so two
// windows of many calls hold the same mix.) Results are the same either way (parallel.hpp).
// It starts by splitting, untimed, while caches and pages warm up (timing that start once
// chose one core for most of the first epoch), and after choosing one core it measures again
// sooner than after choosing all of them.
class Pool {
 public:
  Pool(int n, bool adaptive) : n_(n), adaptive_(adaptive) {
    for (int t = 1; t < n; ++t) workers_.emplace_back([this, t] { loop(t); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return n_; }
  bool adaptive() const { return adaptive_; }

  void run(int tasks, TaskRef task) {
    if (!adaptive_) return split(tasks, task);
    using Clock = std::chrono::steady_clock;
    const bool serial = phase_ == kTimeSerial || (phase_ == kUse && !use_split_);
    // Reading the clock costs as much as a small task: only while timing a window.
    const auto start = phase_ == kUse ? Clock::time_point{} : Clock::now();
    if (serial) {
      in_task = true;  // as if split: nested calls stay on this thread
      for (int t = 0; t < tasks; ++t) task(t);
      in_task = false;
    } else {
      split(tasks, task);
    }
    if (phase_ == kUse) {
      if (++calls_ >= (use_split_ ? kUseCalls : kUseCalls / 4)) phase_ = kTimeSplit, calls_ = 0;
      return;
    }
    (serial ? serial_time_ : split_time_) += Clock::now() - start;
    if (++calls_ < kWindow) return;
    calls_ = 0;
    if (phase_ == kTimeSplit) {
      phase_ = kTimeSerial;
    } else {
      use_split_ = split_time_ <= serial_time_;
      split_time_ = serial_time_ = {};
      phase_ = kUse;
    }
  }

 private:
  void split(int tasks, TaskRef task) {
    task_ = &task;
    tasks_ = tasks;
    pending_.store(tasks - 1);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    in_task = true;
    task(0);
    in_task = false;
    // The others finish within microseconds: spin (a yield is a system call that can cost as
    // much), and only yield if this takes long.
    std::chrono::steady_clock::time_point until{};
    for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
      if ((spin & 255) != 255) continue;
      const auto now = std::chrono::steady_clock::now();
      if (until == std::chrono::steady_clock::time_point{}) until = now + std::chrono::microseconds(100);
      else if (now > until) std::this_thread::yield();
    }
  }

  void loop(int t) {
    in_task = true;
    core_index = t;
    std::uint64_t seen = 0;
    while (true) {
      std::uint64_t g = generation_.load(std::memory_order_acquire);
      // Spin for about 200 microseconds: a batch's serial steps between products are shorter.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      for (int spin = 0; g == seen; ++spin) {
        g = generation_.load(std::memory_order_acquire);
        if ((spin & 255) == 255 && std::chrono::steady_clock::now() > until) break;
      }
      if (g == seen) {
        generation_.wait(seen);
        continue;
      }
      seen = g;
      if (stop_.load()) return;
      if (t < tasks_) {
        (*task_)(t);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
      }
    }
  }

  static constexpr int kWindow = 256, kUseCalls = 8192;
  int n_;
  bool adaptive_;
  // Only the calling thread touches these.
  enum Phase { kTimeSplit, kTimeSerial, kUse } phase_ = kUse;
  bool use_split_ = true;
  int calls_ = kUseCalls - 1024;  // the warm-up: 1024 calls split before the first timing
  std::chrono::steady_clock::duration split_time_{}, serial_time_{};
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const TaskRef* task_ = nullptr;
  int tasks_ = 0;
};

std::mutex pool_mutex;
std::unique_ptr<Pool> pool;
std::atomic<int> pool_size{0};  // read on every product, so without the mutex

int default_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

Pool& get_pool() {
  if (!pool) {
    pool = std::make_unique<Pool>(default_threads(), true);
    pool_size.store(pool->size());
  }
  return *pool;
}

}  // namespace

int set_threads(int n) {
  std::lock_guard lock(pool_mutex);
  const bool adaptive = n <= 0;  // a count the user chose is always used
  if (adaptive) n = default_threads();
  if (!pool || pool->size() != n || pool->adaptive() != adaptive) {
    pool.reset();
    pool = std::make_unique<Pool>(n, adaptive);
    pool_size.store(n);
  }
  return n;
}

int threads() {
  if (in_task) return 1;
  if (const int n = pool_size.load(std::memory_order_relaxed)) return n;
  std::lock_guard lock(pool_mutex);
  return get_pool().size();
}

int current_core() { return core_index; }

void run_parallel(int tasks, TaskRef task) {
  if (tasks <= 1 || in_task) {  // nested inside a task: this thread does them all
    for (int t = 0; t < tasks; ++t) task(t);
    return;
  }
  get_pool().run(tasks, task);
}

}  // namespace digitnet
