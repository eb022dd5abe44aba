#pragma once
// The processes one digitnet command runs on: this one alone, or, in a build with DIGITNET_MPI
// started by mpirun, every rank mpirun started (mpi_world.cpp). Rank 0 leads: it prints, writes
// the files, and reports the errors every rank shares. A World is a Comm, so a Trainer can
// share its batches over it (train/distributed.hpp). Private to the command, like src/kernels.
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "digitnet/core/error.hpp"
#include "digitnet/train/distributed.hpp"

namespace digitnet::dist {

using Bytes = std::vector<std::uint8_t>;

// An error of one process alone, already named by it ("rank 1 (host): ..."): every rank that
// throws one prints it.
struct RankError : Error {
  using Error::Error;
};

class World : public Comm {
 public:
  // Joins the processes mpirun started with this one (MPI_Init), or stands alone when mpirun
  // did not start it. Throws Error if mpirun started several and this build has no MPI. Sets
  // each process's default thread count to its share of the cores it may run on.
  static World& start(int& argc, char**& argv);
  static World& get();  // after start(); alone before it

  bool leader() const { return rank() == 0; }
  std::string name(int rank) const;  // "rank 1 (host)"
  std::string name() const { return name(rank()); }

  // Runs step on every process. If it threw on any, throws on every one an Error with the
  // first failure's message: as it is when every process failed alike, else after the failing
  // process's name. So a file missing on one machine is reported by that machine's name.
  void agree(const std::function<void()>& step);

  // Collectives: every process calls them, in the same order.
  virtual std::vector<Bytes> gather(std::span<const std::uint8_t> mine) = 0;  // rank order, on every process
  virtual void broadcast(Bytes& bytes) = 0;                                   // rank 0's, to every process

  // Messages between two processes (the sweep's work and results).
  virtual void send(int to, std::span<const std::uint8_t> bytes) = 0;
  virtual std::pair<int, Bytes> receive() = 0;              // the next message, from any process
  virtual std::optional<std::pair<int, Bytes>> poll() = 0;  // one if it has come

  // The end of the command with this exit status and error line (empty: none). Prints the
  // line where it belongs (rank 0, or the process that alone failed) and leaves MPI cleanly
  // when every process ends together. Returns the status to exit with.
  virtual int finish(int status, const std::string& error) = 0;

 protected:
  virtual std::string host(int rank) const = 0;
};

// Every process's values, concatenated in rank order, on every process.
template <class T>
std::vector<T> gather_values(World& world, std::span<const T> mine) {
  const std::vector<Bytes> all = world.gather({reinterpret_cast<const std::uint8_t*>(mine.data()), mine.size_bytes()});
  std::vector<T> out;
  for (const Bytes& b : all) {
    const std::size_t at = out.size();
    out.resize(at + b.size() / sizeof(T));
    std::memcpy(out.data() + at, b.data(), b.size() / sizeof(T) * sizeof(T));
  }
  return out;
}

}  // namespace digitnet::dist
