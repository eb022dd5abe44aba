// The machine's fp32 FMA peak, measured: independent FMA chains that never touch memory,
// one per thread, compiled for each SIMD target and run on the best one.
#include "peak.hpp"

#include <chrono>
#include <thread>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "bench/peak.cpp"
#include <hwy/foreach_target.h>
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace digitnet_bench {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Returns FLOPs done: 12 chains x lanes x 2 per iteration.
static double FmaLoop(long iterations, float seed) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const V m = hn::Set(d, 0.9999f), a = hn::Set(d, 1e-7f);
  // Distinct starting values, so the compiler cannot merge the chains.
  V c0 = hn::Set(d, seed), c1 = hn::Set(d, seed + 1), c2 = hn::Set(d, seed + 2), c3 = hn::Set(d, seed + 3),
    c4 = hn::Set(d, seed + 4), c5 = hn::Set(d, seed + 5), c6 = hn::Set(d, seed + 6), c7 = hn::Set(d, seed + 7),
    c8 = hn::Set(d, seed + 8), c9 = hn::Set(d, seed + 9), c10 = hn::Set(d, seed + 10), c11 = hn::Set(d, seed + 11);
  for (long i = 0; i < iterations; ++i) {
    c0 = hn::MulAdd(c0, m, a);
    c1 = hn::MulAdd(c1, m, a);
    c2 = hn::MulAdd(c2, m, a);
    c3 = hn::MulAdd(c3, m, a);
    c4 = hn::MulAdd(c4, m, a);
    c5 = hn::MulAdd(c5, m, a);
    c6 = hn::MulAdd(c6, m, a);
    c7 = hn::MulAdd(c7, m, a);
    c8 = hn::MulAdd(c8, m, a);
    c9 = hn::MulAdd(c9, m, a);
    c10 = hn::MulAdd(c10, m, a);
    c11 = hn::MulAdd(c11, m, a);
  }
  V s = hn::Add(hn::Add(hn::Add(c0, c1), hn::Add(c2, c3)), hn::Add(hn::Add(c4, c5), hn::Add(c6, c7)));
  s = hn::Add(s, hn::Add(hn::Add(c8, c9), hn::Add(c10, c11)));
  volatile float sink = hn::GetLane(s);
  (void)sink;
  return 24.0 * hn::Lanes(d) * iterations;
}

}  // namespace HWY_NAMESPACE
}  // namespace digitnet_bench
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace digitnet_bench {
HWY_EXPORT(FmaLoop);

double measure_fma_peak(int threads) {
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    std::vector<std::thread> pool;
    std::vector<double> flops(threads);
    const auto start = std::chrono::steady_clock::now();
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] { flops[t] = HWY_DYNAMIC_DISPATCH(FmaLoop)(20'000'000, 1.0f + t); });
    for (auto& th : pool) th.join();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / secs / 1e9);
  }
  return best;
}
}  // namespace digitnet_bench
#endif
