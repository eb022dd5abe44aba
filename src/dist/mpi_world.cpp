// The World of the processes mpirun started (a build with -DDIGITNET_MPI=ON). Only this file
// calls MPI; only the main thread calls it (MPI_THREAD_FUNNELED).
//
// Sums are a ring that digitnet runs itself (reduce-scatter, then all-gather), so the order
// of the additions is fixed by the number of processes, never by the algorithm an MPI library
// picks for a message size. Each process moves 2 (N-1)/N of the buffer, the least any
// all-reduce can (docs/scaling.md).
//
// A process that dies mid-run: mpirun notices it and ends the others; a watchdog thread here
// also looks, while this process waits for the others, whether a process on this machine has
// died, and then ends this one at once with a line naming it.
#include <mpi.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "digitnet/core/parallel.hpp"
#include "dist/start.hpp"

namespace digitnet::dist {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRingTag = 1, kMessageTag = 2;
constexpr auto kWatchAfter = std::chrono::milliseconds(300);  // waiting this long: look at the others
constexpr auto kEndTogether = std::chrono::seconds(3);        // an error: how long to wait for the others

bool started_by_mpirun() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(var)) return true;
  return false;
}

// Whether process pid (on this machine) is running: not gone, not a zombie.
bool alive(long pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  if (!std::getline(stat, line)) return false;
  const std::size_t close = line.rfind(')');  // "pid (name) S ..."
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  const char state = line[close + 2];
  return state != 'Z' && state != 'X';
}

// Cores this process may run on, shared with the other processes of the job on this machine
// unless mpirun bound it to some of them.
int cores_here(int local_processes) {
  cpu_set_t set;
  int cores = 0;
  if (sched_getaffinity(0, sizeof set, &set) == 0) cores = CPU_COUNT(&set);
  const int all = static_cast<int>(std::thread::hardware_concurrency());
  if (cores <= 0) cores = std::max(1, all);
  if (cores >= all && local_processes > 1) cores /= local_processes;  // not bound: share them
  return std::max(1, cores);
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() {
  return MPI_FLOAT;
}
template <>
MPI_Datatype mpi_type<double>() {
  return MPI_DOUBLE;
}

class MpiWorld final : public World {
 public:
  MpiWorld(int& argc, char**& argv) {
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Every process's machine and pid, for names and for the watchdog.
    char name[MPI_MAX_PROCESSOR_NAME] = {};
    int length = 0;
    MPI_Get_processor_name(name, &length);
    const std::string me = fmt::format("{} {}", static_cast<long>(getpid()), std::string(name, length));
    const std::vector<Bytes> all = gather({reinterpret_cast<const std::uint8_t*>(me.data()), me.size()});
    int local = 0;
    for (const Bytes& b : all) {
      const std::string s(b.begin(), b.end());
      const std::size_t space = s.find(' ');
      pids_.push_back(std::atol(s.substr(0, space).c_str()));
      hosts_.push_back(s.substr(space + 1));
      local += hosts_.back() == hosts_[rank_];
    }
    set_threads(cores_here(local));
    if (rank_ != 0 && !std::freopen("/dev/null", "w", stdout)) std::fclose(stdout);  // rank 0 prints
    if (size_ > 1) watchdog_ = std::thread([this] { watch(); });
  }

  ~MpiWorld() override { stop_watching(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void sum(std::span<float> v) override { ring_sum(v, float_buffer_); }
  void sum(std::span<double> v) override { ring_sum(v, double_buffer_); }
  void max(std::span<int> v) override {
    const Waiting w(*this);
    check(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_INT, MPI_MAX, MPI_COMM_WORLD),
          "a maximum");
  }

  std::vector<Bytes> gather(std::span<const std::uint8_t> mine) override {
    const Waiting w(*this);
    const int n = static_cast<int>(mine.size());
    std::vector<int> sizes(size_), offsets(size_);
    check(MPI_Allgather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, MPI_COMM_WORLD), "a gather");
    long total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[r] = static_cast<int>(total);
      total += sizes[r];
    }
    if (total > INT32_MAX) throw RankError(fmt::format("{}: a gather of {} bytes is too large", name(), total));
    Bytes flat(static_cast<std::size_t>(total));
    check(MPI_Allgatherv(mine.data(), n, MPI_BYTE, flat.data(), sizes.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD),
          "a gather");
    std::vector<Bytes> out(size_);
    for (int r = 0; r < size_; ++r) out[r].assign(flat.begin() + offsets[r], flat.begin() + offsets[r] + sizes[r]);
    return out;
  }

  void broadcast(Bytes& bytes) override {
    const Waiting w(*this);
    long n = static_cast<long>(bytes.size());
    check(MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD), "a broadcast");
    bytes.resize(static_cast<std::size_t>(n));
    for (long done = 0; done < n;) {  // in pieces MPI's int counts can hold
      const int piece = static_cast<int>(std::min<long>(n - done, 1L << 30));
      check(MPI_Bcast(bytes.data() + done, piece, MPI_BYTE, 0, MPI_COMM_WORLD), "a broadcast");
      done += piece;
    }
  }

  void send(int to, std::span<const std::uint8_t> bytes) override {
    const Waiting w(*this);
    check(MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, to, kMessageTag, MPI_COMM_WORLD),
          "a message");
  }

  std::pair<int, Bytes> receive() override {
    const Waiting w(*this);
    MPI_Status status;
    check(MPI_Probe(MPI_ANY_SOURCE, kMessageTag, MPI_COMM_WORLD, &status), "a message");
    return take(status);
  }

  std::optional<std::pair<int, Bytes>> poll() override {
    int flag = 0;
    MPI_Status status;
    check(MPI_Iprobe(MPI_ANY_SOURCE, kMessageTag, MPI_COMM_WORLD, &flag, &status), "a message");
    if (!flag) return std::nullopt;
    return take(status);
  }

  int finish(int status, const std::string& error) override {
    std::fflush(stdout);
    if (const char* stats = std::getenv("DIGITNET_MPI_STATS"); stats && leader() && sums_ > 0)
      fmt::print(stderr, "mpi: {} sums of {} values each, {:.3f} ms on average, {:.3f} s in all\n", sums_,
                 values_ / sums_, 1e3 * sum_seconds_ / double(sums_), sum_seconds_);
    if (status == 0 && error.empty()) {
      stop_watching();
      MPI_Finalize();
      return 0;
    }
    // Whether every process ends now, and how: then rank 0 (or the first that failed) says why.
    int mine[2] = {status, error.empty() ? 0 : 1};
    std::vector<int> all(2 * static_cast<std::size_t>(size_), 0);
    MPI_Request request;
    int together = 0;
    // Left unfinished when the others do not answer in time: this process then _Exits (waiting
    // would hang on a rank that is gone, and a collective's request cannot be freed).
    if (MPI_Iallgather(mine, 2, MPI_INT, all.data(), 2, MPI_INT, MPI_COMM_WORLD, &request) == MPI_SUCCESS) {
      const auto until = Clock::now() + kEndTogether;
      while (!together && Clock::now() < until) {
        if (MPI_Test(&request, &together, MPI_STATUS_IGNORE) != MPI_SUCCESS) break;
        if (!together) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    if (together) {  // NOLINT(clang-analyzer-optin.mpi.MPI-Checker): see above
      int says = -1;
      for (int r = 0; r < size_ && says < 0; ++r)
        if (all[2 * r + 1]) says = r;
      if (says == rank_) fmt::print(stderr, "{}\n", says == 0 ? error : named(error));
      stop_watching();
      MPI_Finalize();
      return status;
    }
    // The others are busy or gone: this process alone failed. mpirun ends the rest.
    if (!error.empty()) fmt::print(stderr, "{}\n", named(error));
    std::fflush(stderr);
    std::_Exit(status == 0 ? 1 : status);
  }

 protected:
  std::string host(int r) const override { return hosts_.at(static_cast<std::size_t>(r)); }

 private:
  // While this process waits for the others (the watchdog looks then).
  struct Waiting {
    explicit Waiting(MpiWorld& w) : world(w) { world.waiting_since_.store(Clock::now().time_since_epoch().count()); }
    ~Waiting() { world.waiting_since_.store(0); }
    MpiWorld& world;
  };

  // "digitnet: error: X" as "digitnet: error: rank 1 (host): X"
  std::string named(const std::string& error) const {
    const std::string head = "digitnet: error: ";
    if (error.rfind(head, 0) != 0 || error.find(fmt::format("rank {} (", rank_)) != std::string::npos) return error;
    return head + name() + ": " + error.substr(head.size());
  }

  void check(int rc, const char* what) const {
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(rc, text, &length);
    throw RankError(fmt::format("{}: MPI failed during {}: {}", name(), what, std::string(text, length)));
  }

  std::pair<int, Bytes> take(const MPI_Status& status) {
    int n = 0;
    MPI_Get_count(&status, MPI_BYTE, &n);
    Bytes bytes(static_cast<std::size_t>(std::max(0, n)));
    check(MPI_Recv(bytes.data(), n, MPI_BYTE, status.MPI_SOURCE, kMessageTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
          "a message");
    return {status.MPI_SOURCE, std::move(bytes)};
  }

  // Segment s of N (mod N) of v: the ring's unit.
  template <class T>
  static std::span<T> segment(std::span<T> v, int s, int N) {
    s = ((s % N) + N) % N;
    const auto [begin, end] = even_share(v.size(), std::size_t(s), std::size_t(N));
    return v.subspan(begin, end - begin);
  }

  // Reduce-scatter: in step k each process adds what its left neighbour sends to one segment
  // and passes it on, so after N-1 steps process r holds the sum of segment r+1, added in the
  // order r+2, r+3, ..., r+1 (mod N). All-gather: the finished segments go round the ring.
  template <class T>
  void ring_sum(std::span<T> v, std::vector<T>& incoming) {
    const int N = size_;
    if (N == 1 || v.empty()) return;
    const auto start = Clock::now();
    const Waiting w(*this);
    const int right = (rank_ + 1) % N, left = (rank_ + N - 1) % N;
    incoming.resize(v.size() / N + 1);
    for (int k = 0; k < N - 1; ++k) {
      const auto out = segment(v, rank_ - k, N), in = segment(v, rank_ - k - 1, N);
      check(MPI_Sendrecv(out.data(), static_cast<int>(out.size()), mpi_type<T>(), right, kRingTag, incoming.data(),
                         static_cast<int>(in.size()), mpi_type<T>(), left, kRingTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
            "a gradient sum");
      for (std::size_t i = 0; i < in.size(); ++i) in[i] += incoming[i];
    }
    for (int k = 0; k < N - 1; ++k) {
      const auto out = segment(v, rank_ + 1 - k, N), in = segment(v, rank_ - k, N);
      check(MPI_Sendrecv(out.data(), static_cast<int>(out.size()), mpi_type<T>(), right, kRingTag, in.data(),
                         static_cast<int>(in.size()), mpi_type<T>(), left, kRingTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
            "a gradient sum");
    }
    ++sums_;
    values_ += static_cast<long>(v.size());
    sum_seconds_ += std::chrono::duration<double>(Clock::now() - start).count();
  }

  // The watchdog: while this process has waited for a while, is every process on this machine
  // still there? If one has died, the first live process here says which, and each ends.
  void watch() {
    while (!stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const long since = waiting_since_.load();
      if (since == 0 || Clock::now().time_since_epoch().count() - since < Clock::duration(kWatchAfter).count())
        continue;
      for (int r = 0; r < size_; ++r) {
        if (r == rank_ || hosts_[r] != hosts_[rank_] || alive(pids_[r])) continue;
        bool first = true;  // the lowest live rank on this machine speaks
        for (int q = 0; q < rank_; ++q) first = first && !(hosts_[q] == hosts_[rank_] && q != r && alive(pids_[q]));
        if (first)
          fmt::print(stderr, "digitnet: error: {} ended while the others were waiting for it (pid {}); stopping\n",
                     name(r), pids_[r]);
        std::fflush(stderr);
        std::_Exit(1);
      }
    }
  }

  void stop_watching() {
    stop_.store(true);
    if (watchdog_.joinable()) watchdog_.join();
  }

  int rank_ = 0, size_ = 1;
  std::vector<long> pids_;
  std::vector<std::string> hosts_;
  std::vector<float> float_buffer_;
  std::vector<double> double_buffer_;
  std::atomic<long> waiting_since_{0};
  std::atomic<bool> stop_{false};
  std::thread watchdog_;
  long sums_ = 0, values_ = 0;
  double sum_seconds_ = 0;
};

}  // namespace

World& World::start(int& argc, char**& argv) {
  if (!started_by_mpirun()) {
    World& w = solo_world();
    set_world(w);
    return w;
  }
  static std::unique_ptr<MpiWorld> world;
  world = std::make_unique<MpiWorld>(argc, argv);
  set_world(*world);
  return *world;
}

}  // namespace digitnet::dist
