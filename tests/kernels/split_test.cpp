// The shares of a training step (src/kernels/split.hpp): every row, every unit of every layer
// and every bias goes to exactly one core, and where phase 2 stays on one core, that core
// also takes the sums of layers 2..D (whose data it holds).
#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "digitnet/core/parallel.hpp"
#include "kernels/split.hpp"

namespace digitnet {
namespace {

struct Shares {
  std::mutex m;
  std::vector<int> rows;                           // how often each row was taken
  std::vector<std::vector<int>> inputs, biases;    // per layer: how often each unit was taken
  std::map<int, std::vector<int>> cores_of_layer;  // layer -> the cores that took some of it

  explicit Shares(const std::vector<int>& sizes, int B) : rows(B) {
    for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
      inputs.emplace_back(sizes[l]);
      biases.emplace_back(sizes[l + 1]);
    }
  }
};

// Runs a step's phases 2 and 3 as Network::train_step does, recording the shares.
int record(const std::vector<int>& sizes, int B, Shares& s) {
  const int row_cores = split_step_rows(sizes, B, [&](int r0, int r1) {
    std::lock_guard lock(s.m);
    for (int b = r0; b < r1; ++b) ++s.rows[b];
  });
  split_weight_sums(sizes, B, row_cores, [&](int l, Range in, Range out) {
    std::lock_guard lock(s.m);
    for (int i = in.first; i < in.second; ++i) ++s.inputs[l][i];
    for (int j = out.first; j < out.second; ++j) ++s.biases[l][j];
    if (in.first < in.second || out.first < out.second) s.cores_of_layer[l].push_back(current_core());
  });
  return row_cores;
}

void expect_each_once(const std::vector<int>& counts, const char* what, int layer) {
  for (std::size_t i = 0; i < counts.size(); ++i) ASSERT_EQ(counts[i], 1) << what << " " << i << " of layer " << layer;
}

TEST(StepShares, EveryRowUnitAndBiasOfAStepGoesToOneCore) {
  set_threads(2);
  const std::vector<int> seed{784, 128, 64, 10}, wide{784, 1024, 256, 10};
  // (the seed network, batch 32: phase 2 on one core; batch 256 and the wide network: by rows)
  // Steps back to back, as in training: the pool's workers are asleep at first (a small job
  // then stays on the calling core) and are woken for the steps after.
  bool split = false, rows_split = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int step = 0; step < 20 || (!(split && rows_split) && std::chrono::steady_clock::now() < until); ++step)
    for (const auto& [sizes, B] : {std::pair{seed, 32}, std::pair{seed, 256}, std::pair{wide, 128}}) {
      Shares s(sizes, B);
      const int row_cores = record(sizes, B, s);
      if (row_work(sizes, B) < kRowSplitWork) {
        EXPECT_EQ(row_cores, 1) << "batch " << B;
      }
      rows_split = rows_split || row_cores > 1;
      expect_each_once(s.rows, "row", -1);
      for (std::size_t l = 0; l < s.inputs.size(); ++l) {
        expect_each_once(s.inputs[l], "input unit", int(l));
        expect_each_once(s.biases[l], "bias", int(l));
      }
      std::vector<int> layer1 = s.cores_of_layer[0];
      split = split || std::count(layer1.begin(), layer1.end(), 1) > 0;
      if (row_cores != 1) continue;
      for (const auto& [l, cores] : s.cores_of_layer) {  // layers 2..D on the core that did phase 2
        if (l == 0) continue;
        for (const int c : cores) EXPECT_EQ(c, 0) << "layer " << l;
      }
    }
  EXPECT_TRUE(split) << "no step's layer 1 was split between the cores";
  EXPECT_TRUE(rows_split) << "no step's rows were split between the cores";
  set_threads(0);
}

TEST(StepShares, PhaseTwoOnOneCoreDoesNotSplitItsProducts) {
  set_threads(2);
  int inner = 0;
  const int row_cores = split_step_rows(std::vector<int>{784, 128, 64, 10}, 32, [&](int, int) { inner = threads(); });
  EXPECT_EQ(row_cores, 1);
  EXPECT_EQ(inner, 1);  // a product inside phase 2 runs on the core phase 2 runs on
  set_threads(0);
}

TEST(StepShares, PhaseTwosWayCanBeForcedForMeasuring) {
  set_threads(2);
  const std::vector<int> seed{784, 128, 64, 10}, wide{784, 1024, 256, 10};
  const auto rows = [](const std::vector<int>& sizes, int B) { return split_step_rows(sizes, B, [](int, int) {}); };
  use_step_rows_way(1);  // one core, however much work
  EXPECT_EQ(rows(wide, 128), 1);
  use_step_rows_way(2);  // by rows, however little (once the pool's workers are awake)
  int cores = 1;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (cores == 1 && std::chrono::steady_clock::now() < until) cores = rows(seed, 32);
  EXPECT_EQ(cores, 2);
  use_step_rows_way(0);
  EXPECT_EQ(rows(seed, 32), 1);
  set_threads(0);
}

}  // namespace
}  // namespace digitnet
