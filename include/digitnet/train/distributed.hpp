#pragma once
// Data-parallel training: several processes hold the same network and data, each takes a share
// of every batch, and the gradients are summed across them, so that every process takes the
// same step. A Comm is what the processes do together; dist/world.hpp has the processes that
// mpirun starts, or one process alone. docs/scaling.md measures what it costs.
#include <span>
#include <string>
#include <string_view>

namespace digitnet {

class Comm {
 public:
  virtual ~Comm() = default;
  virtual int rank() const = 0;  // this process: 0 .. size() - 1
  virtual int size() const = 0;
  // Elementwise sums over the processes, in place on each. The order of the additions is
  // fixed by size() alone (never by timing, or by an algorithm chosen for the message size):
  // the same values give the same bits, run after run.
  virtual void sum(std::span<float> values) = 0;
  // The same for values rounded by add_on_grid, whose partial sums are all exact: any order
  // gives the same bits.
  virtual void sum(std::span<double> values) = 0;
  virtual void max(std::span<int> values) = 0;
};

// How a batch is shared and its gradient summed (the recipe's reduce):
//   ordered  each process takes its share of every chunk of the batch, as one process would
//            take the chunk; the shares' gradients are summed in ring order. The same bits for
//            the same number of processes.
//   exact    the batch is cut into micro-batches of a fixed size, whole ones to each process;
//            each micro-batch's gradient is rounded to a grid fine enough that their sum in
//            double is exact. The same bits for any number of processes.
enum class Reduction { ordered, exact };
Reduction parse_reduction(std::string_view text);  // throws SettingError naming reduce
std::string to_string(Reduction r);

// Exact sums of floats. Each term is rounded to a grid fine enough to keep at least float's
// precision, and coarse enough that any `terms` such values add up exactly in a double, in
// any order: every partial sum is a multiple of the grid below 2^52 steps.
//
// exponent_bound: the smallest e with |v| < 2^e for every v; kAllZero if every v is 0 and
// kNotFinite if one is NaN or infinite.
constexpr int kAllZero = -(1 << 20), kNotFinite = 1 << 20;
int exponent_bound(std::span<const float> values);
// Adds each value, rounded to the nearest multiple of 2^(e - 52 + ceil(log2 terms)), to sums.
// Exact as long as every |value| of every term is below 2^e (e = the largest exponent_bound,
// or a bound at most kExactSpread above each term's own: see Trainer's exact reduction).
// With e = kNotFinite, adds them as they are (the sum is not finite anyway).
void add_on_grid(std::span<const float> values, int e, long terms, std::span<double> sums);

}  // namespace digitnet
