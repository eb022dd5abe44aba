#include "digitnet/core/parallel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace digitnet {
namespace {

// Whether other processes' threads are running or waiting to run now, more of them than the
// cores this pool's `threads` leave free, and on half the cores or more: then the pool's
// threads share cores, and split jobs wait for them (on 2 cores, one other thread is enough; on
// 16, one or two others leave a split worth timing). From runnable_threads() (this process's
// `own` included) against the cores online; false where that count cannot be read.
bool cores_held_by_others(int threads, int own) {
  const int running = runnable_threads();
  if (running < 0) return false;
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  const long others = running - own;
  return online > 0 && others > online - threads && 2 * others >= online;
}

std::atomic<bool> run_queue_watched{true};  // watch_run_queue

// Set while a thread runs a pool task: products inside it run on that thread alone.
thread_local bool in_task = false;
thread_local int core_index = 0;  // the worker's index in the pool; 0 off the pool

// Workers spin briefly between jobs (a batch's products come microseconds apart), then
// sleep on the atomic so an idle pool costs nothing. A task whose worker has not come by the
// time another thread has finished its own is taken over (split): a sleeping worker takes
// 50-300 us to wake, and one whose core another process holds can be off it for milliseconds.
// One that is taken off its core in the middle of a task still holds the job up; that is what
// the adaptive pool below is for.
//
// Adaptive (the default thread count): on shared virtual machines the other cores are at
// times far away (every cache line that crosses takes long), or held by another process, and
// then splitting jobs of a few microseconds costs more than it saves: a batch of 32 through the
// seed network may train faster on one core, a batch of 128 faster on two. So the pool trains a
// window of steps with every job on one core (cores_for returns 1: the step runs as with
// --threads 1) and the next window split, times both windows on the wall clock, and uses the
// faster way for the next stretch of steps, then measures again:
//   - Whole steps are timed, with the code between jobs: timing each job alone once chose two
//     cores where one was faster (the cache lines a split leaves on the other core are read
//     after the job).
//   - A window is 64 steps, or fewer long ones (at least 8, and 5 ms), so that a window on the
//     slower way costs little; its first step settles (workers wake, data moves) untimed.
//   - The split window stops as soon as it has taken longer than the serial one: when another
//     process holds a core, split jobs can take milliseconds.
//   - While splitting, every 32 steps are timed too: slower than the serial window was (the
//     scheduler has put both threads on one core), it measures again at once.
//   - After choosing one core it measures again sooner than after choosing both, and less soon
//     each time it chooses one core again (a busy machine).
//   - It looks at the machine's run queue (/proc/loadavg) three times in the serial window:
//     when other processes' threads held the cores the workers would need every time, a split
//     window could only lose, and it keeps one core without timing one, for 128 steps.
//   - It starts, and starts over when jobs of a size the last timing did not see come (a new
//     batch size), with a few steps split, untimed (on one core while other processes hold
//     the cores).
// Results are the same either way (parallel.hpp). Jobs outside training steps (inference) split
// while the last choice was to split; long ones always split (kernels/split.hpp).
class Pool {
 public:
  Pool(int n, bool adaptive) : n_(n), adaptive_(adaptive), claimed_(new Claim[static_cast<std::size_t>(n)]) {
    for (int t = 1; t < n; ++t) workers_.emplace_back([this, t] { loop(t); });
  }
  ~Pool() {
    stop_.store(true);
    generation_.fetch_add(kJob);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }
  int size() const { return n_; }
  bool adaptive() const { return adaptive_; }

  // Whether the workers are awake (spinning or working), so that a job handed to them starts
  // within a microsecond. A sleeping worker takes 50-300 us to wake on a virtual machine, more
  // than a small job takes on one core: such a job runs here instead. When such jobs come back
  // to back (a training loop, a stream of images), the workers are woken for the ones after.
  bool awake() {
    if (sleeping_.load(std::memory_order_relaxed) == 0) return true;
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    const auto last = last_cold_call_.exchange(now, std::memory_order_relaxed);
    if (now - last < std::chrono::nanoseconds(std::chrono::microseconds(200)).count()) nudge();
    return false;
  }

  void run(int tasks, TaskRef task) { split(tasks, task); }

  // Whether a job of this size is split now (adaptive pools; see above). Called once per job,
  // before it runs, by the thread that will run it.
  bool split_now(double work) {
    if (!adaptive_) return true;
    const std::uint32_t size = 1u << size_class(work);
    if (phase_ == kUse && (timed_sizes_ & size) == 0) {  // a size the last timing did not see
      timed_sizes_ |= size;
      start_over(kWarmUp);
    }
    if (phase_ != kUse) timed_sizes_ |= size;
    return phase_ == kUse ? use_split_ : phase_ == kTimeSplit;
  }

  // A training step begins: windows are counted in steps, each step the same jobs.
  void step() {
    if (!adaptive_) return;
    using Clock = std::chrono::steady_clock;
    if (phase_ == kUse) {
      ++steps_;
      // While splitting, a look every kCheck steps: slower than the serial window was (the
      // scheduler has put both threads on one core, another process has taken one), time again.
      const bool check = use_split_ && window_ > 0 && steps_ % kCheck == 0;
      if (steps_ < use_steps_ && !check) return;
      if (steps_ < use_steps_) {
        const auto now = Clock::now(), since = check_start_;
        check_start_ = now;
        if (steps_ == kCheck || (now - since) * window_ <= serial_time_ * kCheck) return;
      }
      phase_ = kTimeSerial, steps_ = -1, timed_sizes_ = 0;
      return;
    }
    const auto now = Clock::now();
    if (steps_ < 0) {  // a window's first step settles (the workers wake, data moves): untimed
      steps_ = 0, start_ = now;
      if (phase_ == kTimeSerial) held_ = held();
      return;
    }
    if (phase_ == kTimeSerial) {
      // kWindow steps, or fewer long ones: a window of large steps on the slower way costs more
      ++steps_;
      if (steps_ == kMinWindow / 2 && held_) held_ = held();
      if (steps_ < kWindow && (steps_ < kMinWindow || now - start_ < kWindowTime)) return;
      serial_time_ = now - start_;
      window_ = steps_;
      // Other processes' threads held the cores at the start, middle and end of the serial
      // window: a split window would lose, and cost. One core, and another look soon (the
      // other process may stop; an idle VM's background threads were there at all three looks
      // in one window of 13), which costs nothing more than running on one core meanwhile.
      if (held_ && held()) {
        use_split_ = false, phase_ = kUse, steps_ = 0, use_steps_ = kHeldSteps;
        return;
      }
      phase_ = kTimeSplit, steps_ = -1;
      nudge();  // the workers have slept through the serial window
      return;
    }
    // Timing the split window: it ends as soon as it has lost (the other cores busy with other
    // work can make a split job take milliseconds), so that finding out costs at most one window.
    const bool lost = now - start_ > serial_time_;
    if (++steps_ < window_ && !lost) return;
    choose(!lost);
  }

 private:
  void choose(bool split) {
    use_split_ = split;
    // One core chosen again and again (a busy machine): measure again less often, up to 16x.
    losses_ = use_split_ ? 0 : std::min(losses_ + 1, 5);
    phase_ = kUse, steps_ = 0;
    use_steps_ = use_split_ ? kUseSteps : (kUseSteps / 4) << (losses_ - 1);
  }

  // Whether another process holds a core the workers would need (cores_held_by_others), this
  // thread and the workers awake counted as the pool's own.
  bool held() const {
    return run_queue_watched.load(std::memory_order_relaxed) &&
           cores_held_by_others(n_, n_ - sleeping_.load(std::memory_order_relaxed));
  }

  void nudge() {  // wakes the workers, with no job
    generation_.fetch_add(kNudge, std::memory_order_release);
    generation_.notify_all();
  }

  // Task t is claimed by worker t when it comes, or by a thread that has finished its own task
  // and finds t unclaimed: when a worker is late (asleep, or its core held by another process),
  // the others do its share instead of waiting for it, so a slow core slows a job by what it
  // took on only. Which thread runs a task never changes what it computes (parallel.hpp).
  void split(int tasks, TaskRef task) {
    const std::uint64_t job = job_.load(std::memory_order_relaxed) + 1;
    task_.store(&task, std::memory_order_relaxed);
    tasks_.store(tasks, std::memory_order_relaxed);
    for (int t = tasks; t < n_; ++t) claimed_[t].job.store(job, std::memory_order_relaxed);  // no such task
    pending_.store(tasks - 1, std::memory_order_relaxed);
    job_.store(job, std::memory_order_release);
    generation_.fetch_add(kJob, std::memory_order_release);
    generation_.notify_all();
    in_task = true;
    task(0);
    run_unclaimed(task, tasks, job, 1);
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
    std::uint64_t seen = 0;  // generation_ / kJob as last seen: a change means a job (or the end)
    while (true) {
      std::uint64_t g = generation_.load(std::memory_order_acquire);
      // Spin for about 200 microseconds: a batch's serial steps between products are shorter.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
      for (int spin = 0; g / kJob == seen; ++spin) {
        g = generation_.load(std::memory_order_acquire);
        if ((spin & 255) == 255 && std::chrono::steady_clock::now() > until) break;
      }
      if (g / kJob == seen) {
        sleeping_.fetch_add(1, std::memory_order_relaxed);
        generation_.wait(g);  // until a job, or a nudge
        sleeping_.fetch_sub(1, std::memory_order_relaxed);
        continue;
      }
      seen = g / kJob;
      if (stop_.load()) return;
      // The latest job (job_ counts them in 64 bits; generation_ only signals): a claim
      // succeeds only while that job runs (it cannot end with a task unclaimed), so task_ and
      // tasks_ are still its own; a worker that comes after its job has ended claims nothing.
      const std::uint64_t job = job_.load(std::memory_order_acquire);
      const int tasks = tasks_.load(std::memory_order_relaxed);
      if (t < tasks && claim(t, job)) {
        const TaskRef& task = *task_.load(std::memory_order_relaxed);
        task(t);
        pending_.fetch_sub(1, std::memory_order_acq_rel);
        run_unclaimed(task, tasks, job, t + 1);
      }
    }
  }

  // Task t for job `job`, if no thread has taken it yet.
  bool claim(int t, std::uint64_t job) {
    std::uint64_t last = claimed_[t].job.load(std::memory_order_relaxed);
    return last < job && claimed_[t].job.compare_exchange_strong(last, job, std::memory_order_acq_rel);
  }

  // The tasks of `job` from `first` on (wrapping round, task 0 excepted: the caller's) that no
  // thread has claimed: this thread runs them.
  void run_unclaimed(const TaskRef& task, int tasks, std::uint64_t job, int first) {
    for (int i = 0; i < tasks - 1; ++i) {
      const int t = 1 + (first - 1 + i) % (tasks - 1);
      if (!claim(t, job)) continue;
      task(t);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  static constexpr int kWindow = 64, kMinWindow = 8, kUseSteps = 2048, kWarmUp = 4, kCheck = 32,
                       kHeldSteps = 128;  // in steps
  static constexpr std::chrono::milliseconds kWindowTime{5};
  // generation_ signals jobs (kJob each) and, below them, nudges that only wake the workers;
  // job_ numbers the jobs, for the claims (it does not wrap: 2^64 jobs).
  static constexpr std::uint64_t kJob = std::uint64_t{1} << 32, kNudge = 1;
  std::atomic<int> sleeping_{0};
  std::atomic<std::int64_t> last_cold_call_{0};
  int n_;
  bool adaptive_;
  // Only the thread that runs the steps touches these.
  enum Phase { kTimeSplit, kTimeSerial, kUse } phase_ = kUse;
  bool use_split_ = true;
  bool held_ = false;  // held() at the looks so far in the serial window being timed
  int steps_ = 0;
  int window_ = 0;  // steps in the last serial window, and so in the split one (0: none yet)
  std::chrono::steady_clock::time_point check_start_{};  // of the kCheck steps being watched
  int use_steps_ = kWarmUp;                              // steps before the next timing; first, the warm-up
  int losses_ = 0;                                       // timings in a row that chose one core
  std::chrono::steady_clock::duration serial_time_{};    // of the last serial window
  std::chrono::steady_clock::time_point start_{};        // of the window being timed
  // The sizes of job the last timing saw, in classes a factor of 4 apart (a bit each): a job of
  // another size means another mix (a new batch size, inference after training), timed anew.
  std::uint32_t timed_sizes_ = 0;
  static int size_class(double work) { return work >= 1 ? std::clamp(std::ilogb(work) / 2 - 6, 0, 31) : 0; }
  void start_over(int warm_up) {
    phase_ = kUse, use_split_ = !held(), losses_ = 0, steps_ = 0, use_steps_ = warm_up, window_ = 0;
  }
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> job_{0};
  // The job being run. Atomic because a worker that comes late reads them while the next job is
  // set up (and then claims nothing).
  std::atomic<const TaskRef*> task_{nullptr};
  std::atomic<int> tasks_{0};
  // The last job whose task t was claimed (or that had no task t), a cache line each.
  struct alignas(64) Claim {
    std::atomic<std::uint64_t> job{0};
  };
  std::unique_ptr<Claim[]> claimed_;
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

int runnable_threads() {
  const int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char text[128];
  const ssize_t n = ::read(fd, text, sizeof text);
  ::close(fd);
  if (n <= 0) return -1;
  const char *p = text, *end = text + n;
  for (int field = 0; field < 3; ++field) {  // "0.52 0.58 1.11 3/123 27400": past the load averages
    p = std::find(p, end, ' ');
    if (p == end) return -1;
    ++p;
  }
  int running = 0;
  if (std::from_chars(p, end, running).ec != std::errc{}) return -1;
  return running;
}

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

bool cores_awake() {
  if (in_task) return false;
  return get_pool().awake();  // as run_parallel: the pool is replaced only between runs
}

bool split_now(double work) {
  if (in_task) return false;
  return get_pool().split_now(work);
}

void watch_run_queue(bool on) { run_queue_watched.store(on); }

void training_step() {
  if (in_task) return;
  get_pool().step();
}

void run_alone(TaskRef task) {
  if (in_task) return task(0);
  struct Task {  // in_task for the call, and after it whatever way it ends
    Task() { in_task = true; }
    ~Task() { in_task = false; }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
  } scope;
  task(0);
}

void run_parallel(int tasks, TaskRef task) {
  if (tasks <= 1 || in_task) {  // nested inside a task: this thread does them all
    for (int t = 0; t < tasks; ++t) task(t);
    return;
  }
  Pool& p = get_pool();
  if (tasks > p.size()) throw std::logic_error("run_parallel: more tasks than threads");
  p.run(tasks, task);
}

}  // namespace digitnet
