// Data-parallel training without MPI: N threads stand for N processes (ThreadComm below), each
// with its own network and Trainer, as mpirun's ranks would be. --reduce exact gives the same
// bits for any N; --reduce ordered the same bits for the same N, and the single process's
// random draws (dropout, augmentation) for every row. tests/dist/mpi_test.cpp runs the same
// under mpirun.
#include <barrier>
#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/train/distributed.hpp"
#include "digitnet/train/trainer.hpp"
#include "test_support.hpp"

namespace digitnet {
namespace {

// What N threads share to sum their values: each posts its span, all add them up in rank
// order, then each writes the sum into its own.
struct ThreadGroup {
  explicit ThreadGroup(int n) : size(n), sync(n), floats(n), doubles(n), ints(n) {}
  int size;
  std::barrier<> sync;
  std::vector<std::span<float>> floats;
  std::vector<std::span<double>> doubles;
  std::vector<std::span<int>> ints;
  int sums = 0;  // calls of sum(), by rank 0
};

class ThreadComm final : public Comm {
 public:
  ThreadComm(ThreadGroup& g, int rank) : g_(g), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return g_.size; }
  void sum(std::span<float> v) override {
    combine(g_.floats, v, [](float a, float b) { return a + b; });
    if (rank_ == 0) ++g_.sums;
  }
  void sum(std::span<double> v) override {
    combine(g_.doubles, v, [](double a, double b) { return a + b; });
    if (rank_ == 0) ++g_.sums;
  }
  void max(std::span<int> v) override {
    combine(g_.ints, v, [](int a, int b) { return std::max(a, b); });
  }

 private:
  template <class T, class F>
  void combine(std::vector<std::span<T>>& posted, std::span<T> v, F f) {
    posted[rank_] = v;
    g_.sync.arrive_and_wait();
    std::vector<T> out(posted[0].begin(), posted[0].end());
    for (int r = 1; r < g_.size; ++r)
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = f(out[i], posted[r][i]);
    g_.sync.arrive_and_wait();  // everyone has read every span
    std::copy(out.begin(), out.end(), v.begin());
  }
  ThreadGroup& g_;
  int rank_;
};

struct Weights {
  std::vector<std::vector<float>> arrays;
  std::vector<EpochReport> history;
  bool operator==(const Weights& o) const { return arrays == o.arrays; }
};

// A small run with every stream of randomness: shuffling, dropout, augmentation; Adam.
struct Task {
  Dataset train = test::synthetic(400, 8, 8, 1), test_set = test::synthetic(100, 8, 8, 2);
  Normalizer norm = Normalizer::fit(Normalizer::scale, train);
  Recipe opt{.layers = {64, 24, 16, 10},
             .optimizer = "adam",
             .lr = 0.003,
             .dropout = {0.2},
             .augment = "shift:1",
             .batch = 50,
             .epochs = 2,
             .seed = 5,
             .micro_batch = 8};
  Network<float> network() const { return new_network(opt); }
};

Weights collect(const Network<float>& net, std::vector<EpochReport> history) {
  Weights w;
  for (const auto& layer : net.layers) {
    w.arrays.push_back(test::values(layer.Wt));
    w.arrays.push_back(test::values(layer.b));
  }
  w.history = std::move(history);
  return w;
}

// body(comm, r) on n threads standing for n processes, each with a one-core pool (the thread
// pool is the processes' own; here each "process" is one thread).
template <class F>
void run_ranks(ThreadGroup& group, int n, F&& body) {
  const int threads_before = threads();
  set_threads(1);
  std::vector<std::thread> ranks;
  for (int r = 0; r < n; ++r)
    ranks.emplace_back([&, r] {
      ThreadComm comm(group, r);
      body(comm, r);
    });
  for (auto& t : ranks) t.join();
  set_threads(threads_before);
}

// Rank 0's weights after training on n threads standing for n processes.
Weights shared_run(const Task& s, int n, Reduction reduction, int micro_batch = 8, int spread = 16) {
  ThreadGroup group(n);
  std::vector<Weights> out(n);
  run_ranks(group, n, [&](ThreadComm& comm, int r) {
    Recipe recipe = s.opt;
    recipe.reduce = to_string(reduction);
    recipe.micro_batch = micro_batch;
    Network<float> net = new_network(recipe);
    Trainer trainer(net, s.norm, recipe);
    trainer.share({.comm = &comm, .exact_spread = spread});
    auto history = trainer.fit(s.train, &s.test_set);
    out[r] = collect(net, std::move(history));
  });
  for (int r = 1; r < n; ++r) EXPECT_TRUE(out[r] == out[0]) << "rank " << r << " of " << n << " differs from rank 0";
  return out[0];
}

Weights alone(const Task& s) {
  Network<float> net = s.network();
  Trainer trainer(net, s.norm, s.opt);
  auto history = trainer.fit(s.train, &s.test_set);
  return collect(net, std::move(history));
}

// Largest |a - b| over the largest |b|, over all arrays.
double relative_difference(const Weights& a, const Weights& b) {
  double diff = 0, top = 0;
  for (std::size_t k = 0; k < a.arrays.size(); ++k)
    for (std::size_t i = 0; i < a.arrays[k].size(); ++i) {
      diff = std::max(diff, double(std::fabs(a.arrays[k][i] - b.arrays[k][i])));
      top = std::max(top, double(std::fabs(b.arrays[k][i])));
    }
  return diff / top;
}

TEST(Distributed, ExactGivesTheSameBitsForAnyNumberOfProcesses) {
  const Task s;
  const Weights one = shared_run(s, 1, Reduction::exact);
  for (int n : {2, 3, 4, 7}) EXPECT_TRUE(shared_run(s, n, Reduction::exact) == one) << n << " processes";
  // Every example draws its dropout masks and distortions from its own stream, whatever
  // micro-batch or process takes it: it trains as one process alone does, up to the rounding
  // of the sums.
  EXPECT_LT(relative_difference(shared_run(s, 3, Reduction::exact), alone(s)), 1e-4);
}

TEST(Distributed, ExactHoldsForMicroBatchesThatDoNotDivideTheBatch) {
  Task s;
  s.opt.batch = 37;  // 400 = 10 x 37 + 30: the last batch is shorter too
  const Weights one = shared_run(s, 1, Reduction::exact, 5);
  EXPECT_TRUE(shared_run(s, 3, Reduction::exact, 5) == one);
  EXPECT_TRUE(shared_run(s, 9, Reduction::exact, 5) == one);  // more processes than micro-batches: some idle
}

TEST(Distributed, ExactHoldsWhenMicroBatchesLieFarApart) {
  // A spread of 0: nearly every batch has micro-batches too far apart for their own grids and
  // is computed again on one grid (with the same draws).
  const Task s;
  const Weights one = shared_run(s, 1, Reduction::exact, 8, 0);
  EXPECT_TRUE(shared_run(s, 3, Reduction::exact, 8, 0) == one);
  EXPECT_LT(relative_difference(one, shared_run(s, 1, Reduction::exact, 8, 16)), 1e-4);
}

TEST(Distributed, OrderedGivesTheSameBitsRunAfterRun) {
  const Task s;
  for (int n : {2, 3}) EXPECT_TRUE(shared_run(s, n, Reduction::ordered) == shared_run(s, n, Reduction::ordered));
}

TEST(Distributed, OrderedDrawsWhatOneProcessDrawsForEveryRow) {
  // The same dropout masks and distortions for every row: only the rounding of the sums
  // differs from one process alone (a row given another row's mask would differ by far more).
  const Task s;
  const Weights one = alone(s);
  for (int n : {2, 3, 5}) EXPECT_LT(relative_difference(shared_run(s, n, Reduction::ordered), one), 1e-4) << n;
  Task big = s;
  big.opt.batch = 300;  // two chunks of up to 256 rows, each shared
  EXPECT_LT(relative_difference(shared_run(big, 2, Reduction::ordered), alone(big)), 1e-4);
}

TEST(Distributed, OneSumPerBatch) {
  const Task s;
  ThreadGroup group(2);
  run_ranks(group, 2, [&](ThreadComm& comm, int) {
    Network<float> net = s.network();
    Trainer trainer(net, s.norm, s.opt);
    trainer.share({.comm = &comm});
    trainer.train_epoch(s.train);
  });
  EXPECT_EQ(group.sums, 400 / 50);
}

TEST(Distributed, AStopAskedByOneProcessIsAgreedByAll) {
  const Task s;
  ThreadGroup group(3);
  std::vector<int> epochs(3), batches(3);
  run_ranks(group, 3, [&](ThreadComm& comm, int r) {
    Network<float> net = s.network();
    Trainer trainer(net, s.norm, s.opt);
    int steps = 0;
    trainer.share({.comm = &comm, .stop = [&] { return r == 2 && steps >= 3; }});  // rank 2 alone asks
    trainer.fit(s.train, nullptr, {}, {}, nullptr, [&](bool epoch_end) {
      steps += !epoch_end;
      return trainer.stop_agreed();
    });
    epochs[r] = trainer.state().epoch;
    batches[r] = static_cast<int>(trainer.state().batch);
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(epochs[r], 1);
    EXPECT_EQ(batches[r], 4) << "rank " << r;  // asked after its 3rd batch; the 4th's sum carries it
  }
}

TEST(Distributed, ExactSumsDoNotDependOnTheirOrder) {
  // Terms spread over 2^16 in size (and zeros, and negatives): every order and grouping of
  // their rounded values gives the same double.
  Rng rng(9);
  const int terms = 40;
  std::vector<std::vector<float>> v(terms, std::vector<float>(100));
  int e = kAllZero;
  for (auto& t : v) {
    for (float& x : t)
      x = rng.below(5) == 0 ? 0.0f : float((rng.uniform() - 0.5) * std::ldexp(1.0, int(rng.below(17))));
    e = std::max(e, exponent_bound(t));
  }
  std::vector<double> forward(100, 0.0), backward(100, 0.0), halves(100, 0.0), half2(100, 0.0);
  for (int k = 0; k < terms; ++k) add_on_grid(v[k], e, terms, forward);
  for (int k = terms - 1; k >= 0; --k) add_on_grid(v[k], e, terms, backward);
  for (int k = 0; k < terms / 2; ++k) add_on_grid(v[k], e, terms, halves);
  for (int k = terms / 2; k < terms; ++k) add_on_grid(v[k], e, terms, half2);
  for (std::size_t i = 0; i < 100; ++i) halves[i] += half2[i];
  EXPECT_EQ(forward, backward);
  EXPECT_EQ(forward, halves);
  // and each rounded term keeps float's precision near the largest
  double worst = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    double exact = 0;
    for (int k = 0; k < terms; ++k) exact += double(v[k][i]);
    worst = std::max(worst, std::fabs(forward[i] - exact));
  }
  EXPECT_LT(worst, std::ldexp(1.0, e - 24));
  EXPECT_EQ(exponent_bound(std::vector<float>{0.0f, -0.0f}), kAllZero);
  EXPECT_EQ(exponent_bound(std::vector<float>{1.0f, NAN}), kNotFinite);
  EXPECT_EQ(exponent_bound(std::vector<float>{0.75f, -1.0f}), 1);  // |v| < 2^1
}

TEST(Distributed, ParsesReduction) {
  EXPECT_EQ(parse_reduction("exact"), Reduction::exact);
  EXPECT_EQ(to_string(parse_reduction("ordered")), "ordered");
  try {
    parse_reduction("ring");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "reduce: 'ring' is not one of ordered or exact");
  }
}

}  // namespace
}  // namespace digitnet
