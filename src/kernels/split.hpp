#pragma once
// How work is split between cores, in one place: one rule for when another core pays, and
// the shares of a training step. A split never changes a result (every element is computed
// the same way whichever core takes it); it only changes the time.
//
// The rule: work is counted in multiply-adds of a matrix product, and a job goes to as many
// cores as get at least kWorkPerCore each (so with two cores, a job of 2 kWorkPerCore or more
// is split). Other kernels count their items as the multiply-adds that take as long on one
// core, measured by `build/gemm_bench --costs` (docs/performance.md, "Splitting work").
#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <span>
#include <utility>

#include "digitnet/core/parallel.hpp"

namespace digitnet {

constexpr double kWorkPerCore = 3e4;
// A job smaller than this runs on one core while the others sleep: waking a core takes 50-300 us
// on a virtual machine, more than half of such a job takes (one image: 0.1 million multiply-adds,
// 3 us). Jobs that come back to back wake them for the ones after (core/parallel.hpp).
constexpr double kWakeWork = 1e7;
// One row through a layer (one image) reads every weight once, and is bound by that read: below
// a million weights (4 MB, beyond L2) one core reads them faster than two cores hand the job off
// and back (`build/gemm_bench`, "one image": 784 x 128 with half the pixels zero, 1.3 us on one
// core, 1.4 us split; with 80% zero, 0.6 against 1.0 us; only a dense image gains, 2.4 to 2.1 us).
constexpr double kOneRowWork = 1e6;
inline bool one_row_alone(int rows, double work) { return rows == 1 && work < kOneRowWork; }
// A job this long (a millisecond or more on one core: inference over a test set, a full batch's
// products) is always split, even while the adaptive pool keeps training steps on one core.
constexpr double kLongJob = 1e8;

// What one item costs, in multiply-adds.
namespace cost {
constexpr double kMultiplyAdd = 1;
constexpr double kByteToFloat = 3;   // a pixel converted to an input (Normalizer::gather)
constexpr double kElementwise = 4;   // a hidden unit through its activation, its derivative, dropout
constexpr double kSoftmax = 300;     // a class through softmax and the loss (an exponential)
constexpr double kTransposed = 8;    // an element moved by a transpose
constexpr double kUpdate = 24;       // a parameter through an optimizer step (Adam, momentum)
constexpr double kAugmented = 1000;  // a pixel of a distorted image (bilinear resampling)
}  // namespace cost

// How many cores a job of `work` uses: as many as get kWorkPerCore each, at most threads()
// and at most `max_cores` (say, one per row).
inline int cores_for(double work, long max_cores = INT_MAX) {
  const double by_work = work / kWorkPerCore;
  const long n = std::min<long>({threads(), max_cores, by_work < double(INT_MAX) ? long(by_work) : INT_MAX});
  if (n <= 1) return 1;
  if (work < kLongJob && !split_now(work)) return 1;  // the adaptive pool's choice, for now
  if (work < kWakeWork && !cores_awake()) return 1;
  return static_cast<int>(n);
}

// n items of `each` work: f(begin, end) on each core's contiguous share, or f(0, n) here.
template <class I, class F>
void split_items(I n, double each, F&& f) {
  run_shares(cores_for(double(n) * each, static_cast<long>(n)), n, f);
}

// The shares of a training step (Network::train_step), for layer sizes n_0 .. n_D and a batch
// of B rows. Each phase is one hand-off between cores:
//   1. the first layer's product Z_1, in two parts by the layer's inputs (the rows of W^T each
//      core updates in phase 3), each core reading the batch as it wrote it (core/batch.hpp);
//   2. everything per example (the other layers' forward, the loss, every dZ): on one core,
//      or by rows when there is enough of it (kRowSplitWork);
//   3. the sums over the batch, dW and db: by input units of each layer (rows of W^T, whole
//      register tiles: kUnitGrain) and by biases (whole cache lines), so that no cache line is
//      written by two cores; after phase 2 on one core, that core takes layers 2..D whole (it
//      holds their data) and the biases of layer 1, and the cores share layer 1's inputs.
// What a split costs besides the hand-off is the cache lines it moves: a core that writes a line
// another core has read waits for the other's copy to be dropped, about 10 ns a line on the
// development VM, 9x a line it alone holds (`build/gemm_bench --costs`). Layer 1, where most of
// the work is, moves little this way: each core keeps its rows of W_1^T and its columns of the
// batch. Phase 2 split by rows moves every hidden layer's activations and layers 2..D's weights.
constexpr int kColumnGrain = 16;  // floats in a 64-byte cache line
constexpr int kUnitGrain = 12;    // rows of a register tile of the products (src/kernels/gemm.cpp)
using Range = std::pair<int, int>;

// A training step sums Z_1 = b_1 + X W_1^T in two parts over the layer's inputs (the rows of
// W^T), P_0 = b_1 + (the terms of the first half) and P_1 = (the terms of the second half), and
// then Z_1 = P_0 + P_1, whatever the number of cores: the same FMAs in the same order on one
// core or many, so the bits do not depend on --threads (or on MPI's ranks: every step of every
// batch size sums this way). On two cores each core sums one part, the inputs whose rows of W^T
// it updates in phase 3, so W_1 stays in that core's cache from step to step, and neither core
// waits for the other (`gemm_bench --sharing`: see docs/performance.md). Inference, where no
// core writes W_1, sums all the inputs at once.
constexpr int kFirstLayerParts = 2;
inline Range first_layer_part(int inputs, int part) {  // as split_weight_sums shares them on two cores
  return block_share(inputs, kUnitGrain, part, kFirstLayerParts);
}

// Phase 1: f(part, inputs, rows, columns) for each core's share of Z_1 (n_0 inputs, n_1
// columns): the terms of inputs [i0, i1) for batch rows [r0, r1) and columns [j0, j1), from the
// bias for part 0, from zero for part 1. In a training step (`updating`), f is called for both
// parts (first_layer_part); on two cores or more, core t takes part t % 2 (its share of the
// columns when more than one core takes a part). Inference: part 0 with all the inputs, split
// by columns.
template <class F>
void split_first_layer(std::span<const int> sizes, int B, bool updating, F&& f) {
  const int in = sizes[0], out = sizes[1];
  const double work = double(B) * in * out;
  const Range inputs{0, in}, rows{0, B}, columns{0, out};
  const int cores = one_row_alone(B, work) ? 1 : std::min(cores_for(work), (out + kColumnGrain - 1) / kColumnGrain);
  if (updating) {
    const Range part[kFirstLayerParts] = {first_layer_part(in, 0), first_layer_part(in, 1)};
    if (cores <= 1) {
      for (int p = 0; p < kFirstLayerParts; ++p) f(p, part[p], rows, columns);
      return;
    }
    run_parallel(cores, [&](int t) {
      const int p = t % kFirstLayerParts, on_part = (cores - p + kFirstLayerParts - 1) / kFirstLayerParts;
      const auto [j0, j1] = block_share(out, kColumnGrain, t / kFirstLayerParts, on_part);
      if (j0 < j1) f(p, part[p], rows, Range{j0, j1});
    });
    return;
  }
  if (cores <= 1) return f(0, inputs, rows, columns);
  run_parallel(cores, [&](int t) {
    const auto [j0, j1] = block_share(out, kColumnGrain, t, cores);
    if (j0 < j1) f(0, inputs, rows, Range{j0, j1});
  });
}

// The work of B rows through everything per example (phase 2): the products of layers 2..D
// forward and back, the hidden units' elementwise steps, and the softmax.
inline double row_work(std::span<const int> sizes, int B) {
  const std::size_t D = sizes.size() - 1;
  double per_row = cost::kSoftmax * sizes[D];
  for (std::size_t l = 1; l < D; ++l) per_row += 2.0 * sizes[l] * sizes[l + 1] + cost::kElementwise * sizes[l];
  return B * per_row;
}

// Inference's rows after Z_1 (Network::forward): f(r0, r1) for each core's rows.
template <class F>
void split_rows(std::span<const int> sizes, int B, F&& f) {
  run_shares(cores_for(row_work(sizes, B), B), B, f);
}

// A training step's phase 2 stays on one core below this much work. Split by rows, it leaves
// half of every hidden layer's activations and of layers 2..D's weights on the other core,
// whose lines the next phase reads and the next step writes again (above). For the seed
// network one core was 7-9% faster at batches of 32 and 128 (2.7 million multiply-adds) and 3%
// slower in the full batch's chunks of 256 rows (5.5 million): `bench/ab.py build build 8 2
// --before "--rows split" --after "--rows one"` (docs/performance.md).
constexpr double kRowSplitWork = 4e6;

// How a training step's phase 2 is shared: 0 by the rule above, 1 on one core, 2 by rows
// wherever the cores would take them (for measuring the rule: `digitnet_bench --rows`; the
// values are the same every way).
inline std::atomic<int> step_rows_way{0};
inline void use_step_rows_way(int way) { step_rows_way.store(way, std::memory_order_relaxed); }

// Phase 2 of a training step: f(r0, r1) for each core's rows; returns the number of cores that
// took rows (split_weight_sums needs it). On one core it runs as a task of its own, so that its
// products, small each, are not split either.
template <class F>
int split_step_rows(std::span<const int> sizes, int B, F&& f) {
  const double work = row_work(sizes, B);
  const int way = step_rows_way.load(std::memory_order_relaxed);
  const bool alone = way == 1 || (way == 0 && work < kRowSplitWork);
  const int cores = alone ? 1 : cores_for(work, B);
  if (cores > 1) {
    run_shares(cores, B, f);
    return cores;
  }
  run_alone([&](int) { f(0, B); });
  return 1;
}

// Whether a training step computes the next step's first layer in its phase 3 when it can
// (split_weight_sums; on by default, off for measuring: `digitnet_bench --ahead off`; the
// values are the same either way).
inline std::atomic<bool> first_layer_ahead{true};
inline void use_first_layer_ahead(bool on) { first_layer_ahead.store(on, std::memory_order_relaxed); }

// Phase 3: f(l, inputs, outputs) for every layer l (last first) and this core's share of its
// input units (rows of W^T) and output units (biases). `row_cores`: the cores of phase 2.
//
// With `look_ahead` (the caller has the next step's batch, and this step's f is the update),
// phase 1 of the next step joins this hand-off: a core that has updated its rows of W_1^T
// computes the next batch's part of Z_1 over them, ahead(part, inputs), so that the next step
// starts at phase 2 with one hand-off less and the core keeps the rows it wrote. Only where
// those rows are the part's (one core, or two) and phase 2 was on one core (the core with part
// 0 then updated all of b_1, which P_0 starts from). Returns whether it looked ahead: the sums
// and the parts are the same values as a step that starts with phase 1.
template <class F, class G>
bool split_weight_sums(std::span<const int> sizes, int B, int row_cores, F&& f, bool look_ahead, G&& ahead) {
  const int L = static_cast<int>(sizes.size()) - 1;
  double work = 0;
  for (int l = 0; l < L; ++l) work += double(B) * sizes[l] * sizes[l + 1];
  const int cores = cores_for(work);
  const bool looking =
      look_ahead && row_cores == 1 && cores <= kFirstLayerParts && first_layer_ahead.load(std::memory_order_relaxed);
  const Range none{0, 0};
  const auto sums = [&](int t) {
    for (int l = L - 1; l >= 0; --l) {
      // layer 1 on two cores: each core the part of Z_1 it sums (the look-ahead relies on it)
      const Range inputs = l == 0 && cores == kFirstLayerParts ? first_layer_part(sizes[0], t)
                                                               : block_share(sizes[l], kUnitGrain, t, cores);
      if (row_cores > 1) f(l, inputs, block_share(sizes[l + 1], kColumnGrain, t, cores));
      else if (l > 0) {  // on the core that computed every row of them in phase 2
        if (t == 0) f(l, Range{0, sizes[l]}, Range{0, sizes[l + 1]});
      } else f(l, inputs, t == 0 ? Range{0, sizes[1]} : none);
    }
    if (!looking) return;
    if (cores == 1)
      for (int p = 0; p < kFirstLayerParts; ++p) ahead(p, first_layer_part(sizes[0], p));
    else ahead(t, first_layer_part(sizes[0], t));
  };
  if (cores <= 1) sums(0);
  else run_parallel(cores, sums);
  return looking;
}
template <class F>
void split_weight_sums(std::span<const int> sizes, int B, int row_cores, F&& f) {
  split_weight_sums(sizes, B, row_cores, f, false, [](int, Range) {});
}

// Whether each core should write a batch of `rows` for itself (core/batch.hpp) rather than
// read one core's copy: while a batch is small enough that converting it again is cheaper
// than moving its cache lines between cores (measured: up to 128 rows of 784 pixels).
inline bool batch_written_on_each_core(int rows) { return rows <= 128 && threads() > 1; }

}  // namespace digitnet
