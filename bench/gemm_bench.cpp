// GFLOP/s of each product at the seed network's shapes, 1 and all threads, against the FMA peak.
#include <chrono>
#include <cstdio>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "kernels/gemm.hpp"
#include "peak.hpp"

using namespace digitnet;

template <class F>
double gflops(double flop, F f) {
  double best = 1e9;
  for (int rep = 0; rep < 7; ++rep) {
    const int iters = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters);
  }
  return flop / best / 1e9;
}

int main() {
  Rng rng(1);
  const auto rnd = [&](int r, int c) {
    Tensor<float> t(r, c);
    for (auto& v : t.storage) v = float(rng.normal());
    return t;
  };
  std::printf("SIMD target: %s\n", simd_target().c_str());
  const double peak1 = digitnet_bench::measure_fma_peak(1), peak2 = digitnet_bench::measure_fma_peak(2);
  std::printf("FMA peak: %.0f GFLOP/s (1 thread), %.0f GFLOP/s (2 threads)\n", peak1, peak2);
  struct Shape {
    const char* name;
    int B, in, out;
  };
  for (const Shape s : {Shape{"layer1 b32", 32, 784, 128},
                        {"layer2 b32", 32, 128, 64},
                        {"layer1 b128", 128, 784, 128},
                        {"layer1 b10000", 10000, 784, 128},
                        {"layer1 b1", 1, 784, 128}}) {
    auto X = rnd(s.B, s.in), Wt = rnd(s.in, s.out), Z = rnd(s.B, s.out), dZ = rnd(s.B, s.out), dWt = rnd(s.in, s.out),
         dX = rnd(s.B, s.in);
    const double flop = 2.0 * s.B * s.in * s.out;
    for (int t : {1, 2}) {
      set_threads(t);
      const double f = gflops(flop, [&] { matmul_ab<float>(X.view(), Wt.view(), Z.view()); });
      const double g = gflops(flop, [&] { matmul_atb<float>(X.view(), dZ.view(), dWt.view()); });
      const double h = gflops(flop, [&] { matmul_abt<float>(dZ.view(), Wt.view(), dX.view()); });
      std::printf("%-14s threads %d:  Z=X Wt %6.1f   dWt=X^T dZ %6.1f   dX=dZ Wt^T %6.1f GFLOP/s\n", s.name, t, f, g,
                  h);
    }
  }
  // One image: the layer-1 product skips zero pixels, so its time is that of reading the
  // weight rows of the nonzero ones (128 floats each) from L2.
  auto Wt = rnd(784, 128), z = rnd(1, 128);
  for (double zeros : {0.0, 0.5, 0.8}) {
    auto x = rnd(1, 784);
    int rows = 0;
    for (auto& v : x.storage) {
      v = rng.uniform() < zeros ? 0.0f : float(rng.uniform());
      rows += v != 0.0f;
    }
    for (int t : {1, 2}) {
      set_threads(t);
      const double us = 2.0 * rows * 128 /
                        gflops(2.0 * rows * 128,
                               [&] {
                                 for (int i = 0; i < 100; ++i) matmul_ab<float>(x.view(), Wt.view(), z.view());
                               }) /
                        1e3 / 100;
      std::printf("one image, %2.0f%% zero pixels, threads %d: %.2f us, %.0f GB/s of weights read\n", zeros * 100, t,
                  us, rows * 128 * 4 / us / 1e3);
    }
  }
}
