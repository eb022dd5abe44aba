// mpirun -np N build/allreduce_bench [PARAMETERS...]: the time of one gradient sum (the
// ring digitnet runs, src/dist/mpi_world.cpp) for a network's parameter count, against the
// MPI library's own MPI_Allreduce, which may add in any order (bench/scaling.sh runs it; the
// figures are in docs/scaling.md). Prints one line per size: "values ring_ms mpi_ms".
// Default sizes: the seed network 784-128-64-10 (109,386 values) and best-fashion-mnist's
// 784-1024-256-10 (1,068,554).
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "dist/world.hpp"

namespace {

// The median of `rounds` timings of f, each after a barrier (so a late start is not counted).
template <class F>
double median_ms(int rounds, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < rounds; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  digitnet::dist::World& world = digitnet::dist::World::start(argc, argv);
  std::vector<long> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::stol(argv[i]));
  if (sizes.empty()) sizes = {109'386, 1'068'554};
  for (long n : sizes) {
    std::vector<float> v(static_cast<std::size_t>(n), 1.0f);
    const int rounds = n > 500'000 ? 40 : 200;
    const double ring = median_ms(rounds, [&] { world.sum(std::span<float>(v)); });
    const double mpi = median_ms(rounds, [&] {
      MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    });
    if (world.leader()) std::printf("%ld %.4f %.4f\n", n, ring, mpi);
  }
  return world.finish(0, "");
}
