// GFLOP/s of each product at the seed network's shapes, 1 and all threads, against the FMA peak.
//   gemm_bench           the products
//   gemm_bench --int8    the int8 products (inference with --quantize int8), one core
//   gemm_bench --sharing the seed network's first layer on two cores, step after step (forward
//                        product, then the SGD update of W_1) with W_1 shared three ways: why
//                        two cores gain little at batch 32 (docs/performance.md)
//   gemm_bench --abt     C = A B^T (dA = dZ W) both ways, at the seed's and the presets' shapes
//   gemm_bench --costs   what src/kernels/split.hpp's rule rests on: a hand-off between cores, a
//                        cache line read after the other core wrote it and written after the
//                        other core read it, and one item of each
//                        kernel, in multiply-adds of a product on one core
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/nn/activation.hpp"
#include "digitnet/nn/loss.hpp"
#include "digitnet/train/augment.hpp"
#include "kernels/gemm.hpp"
#include "kernels/qgemm.hpp"
#include "kernels/split.hpp"
#include "kernels/vector_ops.hpp"
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

// Nanoseconds per call of f, the best of 9 runs of `iters` calls.
template <class F>
double best_ns(int iters, F f) {
  double best = 1e30;
  for (int rep = 0; rep < 9; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) f();
    best =
        std::min(best, std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / iters);
  }
  return best;
}

// f() on pool thread `core` of two (current_core()): run_parallel's task t is meant for worker t,
// but the caller takes over a task whose worker has not come yet, so a round where f ran on the
// wrong thread is not counted: f is asked for again.
template <class F>
void on_core(int core, F f) {
  std::atomic<bool> done{false};
  while (!done.load()) {
    run_parallel(2, [&](int) {
      if (current_core() != core || done.load()) return;
      f();
      done.store(true);
    });
  }
}

// Nanoseconds a cache line of a 16 KB buffer that timed(buffer) takes on this thread, right after
// before(buffer) ran on pool thread `core` (0: this one): the median of 2000 rounds.
template <class Before, class Timed>
static double ns_per_line(int core, Before before, Timed timed) {
  set_threads(2);
  std::vector<float> buffer(16 * 1024 / sizeof(float), 1.0f);
  std::vector<double> ns;
  for (int round = 0; round < 2000; ++round) {
    on_core(core, [&] { before(buffer); });
    const auto t0 = std::chrono::steady_clock::now();
    timed(buffer);
    ns.push_back(std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ns.begin(), ns.begin() + ns.size() / 2, ns.end());
  return ns[ns.size() / 2] / (double(buffer.size()) * sizeof(float) / 64);
}

static volatile float line_sink = 0;
static void read_lines(std::vector<float>& buffer) {
  float sum = 0;
  for (std::size_t i = 0; i < buffer.size(); i += 64 / sizeof(float)) sum += buffer[i];
  line_sink = line_sink + sum;
}
static void write_lines(std::vector<float>& buffer) {  // stores only: no line is read first
  static float stamp = 0;
  stamp += 1;
  std::fill(buffer.begin(), buffer.end(), stamp);
}

// What a training step pays for each cache line that crosses between the cores (the other
// core's rows of P_1 and dZ_1: 16 KB each way a step at batch 32): a line read in order right
// after the other core wrote it, against after this core did; and what the core that writes
// such a line next pays (kRowSplitWork in src/kernels/split.hpp): a line written right after the
// other core read it (its copy must be dropped first), against after this core did.
static std::pair<double, double> line_reads() {
  return {ns_per_line(1, write_lines, read_lines), ns_per_line(0, write_lines, read_lines)};
}
static std::pair<double, double> line_writes() {
  return {ns_per_line(1, read_lines, write_lines), ns_per_line(0, read_lines, write_lines)};
}

// A hand-off to the other core and back: a job whose first task waits until the worker has
// begun the second, so that the caller cannot take the second over (nanoseconds, the best of 9).
static double handoff_ns() {
  set_threads(2);
  return best_ns(20000, [] {
    std::atomic<bool> begun{false};
    run_parallel(2, [&](int t) {
      if (t == 1) begun.store(true);
      else
        while (!begun.load()) {
        }
    });
  });
}

static int costs() {
  Rng rng(1);
  const auto rnd = [&](int r, int c, double zeros = 0) {
    Tensor<float> t(r, c);
    for (auto& v : t.storage) v = rng.uniform() < zeros ? 0.0f : float(rng.normal());
    return t;
  };
  set_threads(2);
  const double handoff = handoff_ns();
  const auto [crossed, own] = line_reads();
  const auto [written_shared, written_own] = line_writes();
  set_threads(1);
  // A multiply-add: the seed network's layer-2 product at batch 32 (its inputs half zeros,
  // as ReLU outputs are), all terms counted.
  auto A = rnd(32, 128, 0.5), B = rnd(128, 64), C = rnd(32, 64);
  const double fma = best_ns(2000, [&] { matmul_ab<float>(A.view(), B.view(), C.view()); }) / (32.0 * 128 * 64);
  std::printf("a hand-off to a second core and back: %.0f ns = %.0f multiply-adds; kWorkPerCore = %.0f\n", handoff,
              handoff / fma, kWorkPerCore);
  std::printf("a multiply-add (32x128x64 product, one core): %.4f ns\n", fma);
  std::printf("a cache line read (16 KB, in order), written last by the other core: %.1f ns; by this one: %.1f ns\n",
              crossed, own);
  std::printf("a cache line written (16 KB, in order), read last by the other core: %.1f ns; by this one: %.1f ns\n\n",
              written_shared, written_own);
  std::printf("%-44s %10s %12s %10s\n", "item (one core)", "ns", "measured", "split.hpp");
  const auto row = [&](const char* name, double ns, double constant) {
    std::printf("%-44s %10.4f %12.1f %10.1f\n", name, ns, ns / fma, constant);
  };
  std::vector<std::uint8_t> bytes(100352);
  for (auto& b : bytes) b = static_cast<std::uint8_t>(rng.below(256));
  std::vector<float> f(bytes.size());
  row("a byte to a float (Normalizer::gather)",
      best_ns(500, [&] { bytes_to_floats(bytes.size(), bytes.data(), 1.0f / 255, f.data()); }) / bytes.size(),
      cost::kByteToFloat);
  auto Z = rnd(32, 128), Aout = rnd(32, 128), P = rnd(32, 10), Zc = rnd(32, 10);
  const double relu =
      best_ns(2000, [&] { activation_forward<float>(Activation::relu, Z.view(), Aout.view()); }) / Z.size();
  const double softmax =
      best_ns(2000, [&] { output_forward<float>(Loss::cross_entropy, Zc.view(), P.view()); }) / Zc.size();
  row("a unit through ReLU", relu, cost::kElementwise);
  row("a class through softmax", softmax, cost::kSoftmax);
  auto T = rnd(256, 256), out = rnd(32, 256), in = rnd(32, 256);
  const double abt = best_ns(200, [&] { matmul_abt<float>(in.view(), T.view(), out.view()); });
  const double ab = best_ns(200, [&] { matmul_ab<float>(in.view(), T.view(), out.view()); });
  row("an element transposed (A B^T less A B)", (abt - ab) / T.size(), cost::kTransposed);
  const std::size_t n = 65536;
  std::vector<float> p(n, 1.0f), g(n, 0.01f), m(n, 0.0f), v(n, 0.0f);
  const AdamStep s{1, 0, 0.9f, 0.999f, 1e-3f, 0.03f, 1e-8f};
  row("a parameter through Adam", best_ns(200, [&] { adam_update(n, p.data(), g.data(), m.data(), v.data(), s); }) / n,
      cost::kUpdate);
  std::vector<float> image(784, 0.5f);
  Rng arng(2);
  const Augment aug = parse_augment("shift:2,rotate:8");
  row("a pixel shifted and rotated (augment)", best_ns(500, [&] { augment_image(aug, image, 28, 28, arng); }) / 784,
      cost::kAugmented);
  std::printf("\n'measured' is in multiply-adds; split.hpp's constants are rounded from runs in good phases.\n");
  set_threads(0);
  return 0;
}

// The int8 products (one core) at the seed network's inference shapes, in GOP/s (2 per
// multiply-add), with the VNNI kernel and with Highway's int16 pairs.
static int int8() {
  Rng rng(1);
  for (bool vnni : {true, false}) {
    use_vnni(vnni);
    std::printf("int8 kernel: %s\n", int8_kernel_name());
    for (const auto& [M, K, N] : {std::tuple{128, 784, 128}, {128, 128, 64}, {128, 64, 10}, {1, 784, 128}}) {
      Tensor<float> Wt(K, N);
      for (auto& v : Wt.storage) v = float(rng.normal());
      std::vector<float> bias(N, 0.1f);
      const QuantizedLayer W = QuantizedLayer::from_float(Wt.view(), bias.data());
      std::vector<std::uint8_t> A(static_cast<std::size_t>(M) * W.Kp);
      for (auto& a : A) a = rng.uniform() < 0.5 ? 0 : static_cast<std::uint8_t>(rng.below(256));
      std::vector<std::int32_t> zp(M, 0);
      std::vector<float> rs(M, 1.0f / 255), Z(static_cast<std::size_t>(M) * W.Np);
      const double ns = best_ns(2000, [&] { qgemm(A.data(), W.Kp, M, zp.data(), rs.data(), W, Z.data(), W.Np); });
      std::printf("  %4d x %3d x %3d: %8.0f ns  %6.1f GOP/s\n", M, K, N, ns, 2.0 * M * K * N / ns);
    }
  }
  use_vnni(true);
  return 0;
}

// Layer 1 of the seed network at batch 32 on two cores, step after step: Z = X W^T + b, then
// W^T -= lr X^T dZ, 3000 steps after 1000 to warm up; microseconds a step of each, for ways of
// sharing W^T between the cores:
//   - the forward product split by columns of W^T, the update by rows, so that each core writes
//     whole cache lines of its own; half of what each core reads in the next forward product
//     was written by the other core, and crosses between them;
//   - the update split by columns too, as the forward product: each core writes only what it
//     reads, but its half of every 512-byte row of W^T shares the row's page with the other's;
//   - each row of W^T with a gap of 32 floats (128 bytes) after each core's half (a layout
//     digitnet does not have): the update split by columns, as the forward product;
//   - W^T in two panels, each core's columns contiguous in memory (nor this one): nothing crosses;
//   - by inputs, pipelined: each core adds the terms of the rows of W^T it updates, core 1 going
//     on from core 0's sums block by block (what training did before 2026-12-07);
//   - by inputs, in two partial sums, one per core at once, added by rows (what training does);
// and, for scale, one core doing both products alone.
static int sharing() {
  Rng rng(1);
  const int B = 32, in = 784, out = 128, half = out / 2;
  const int gap = 32;
  Tensor<float> X(B, in), dZ(B, out), Z(B, out), bias(1, out), W(in, out), panels(in, out), gapped(in, out + 2 * gap);
  for (auto& v : X.storage) v = rng.uniform() < 0.5 ? 0.0f : float(rng.uniform());
  for (auto& v : dZ.storage) v = float(rng.normal());
  for (auto& v : W.storage) v = float(rng.normal()) * 0.01f;
  panels.storage = W.storage;
  for (auto& v : gapped.storage) v = float(rng.normal()) * 0.01f;
  const Matrix<const float> x = X.view(), dz = dZ.view();
  const Matrix<float> w = W.view(), z = Z.view();
  const Matrix<float> panel[2] = {{panels.storage.data(), in, half, half},
                                  {panels.storage.data() + in * half, in, half, half}};
  const Matrix<float> gapped_half[2] = {{gapped.storage.data(), in, half, out + 2 * gap},
                                        {gapped.storage.data() + half + gap, in, half, out + 2 * gap}};
  set_threads(2);
  const auto run = [&](const char* name, const auto& forward, const auto& update) {
    double f = 0, u = 0;
    for (int step = 0; step < 4000; ++step) {
      const auto t0 = std::chrono::steady_clock::now();
      run_parallel(2, forward);
      const auto t1 = std::chrono::steady_clock::now();
      run_parallel(2, update);
      const auto t2 = std::chrono::steady_clock::now();
      if (step < 1000) continue;
      f += std::chrono::duration<double, std::micro>(t1 - t0).count() / 3000;
      u += std::chrono::duration<double, std::micro>(t2 - t1).count() / 3000;
    }
    std::printf("%-62s forward %5.1f us  update %5.1f us  step %5.1f us\n", name, f, u, f + u);
  };
  const auto forward_columns = [&](int c) {
    matmul_ab_bias(x, Matrix<const float>(w).cols_view(c * half, half), bias.view().data + c * half,
                   z.cols_view(c * half, half));
  };
  run("W^T row-major, forward by columns, update by rows", forward_columns,
      [&](int c) { matmul_atb_update(x.cols_view(c * in / 2, in / 2), dz, w.rows_view(c * in / 2, in / 2), -1e-6f); });
  run("W^T row-major, update by columns", forward_columns,
      [&](int c) { matmul_atb_update(x, dz.cols_view(c * half, half), w.cols_view(c * half, half), -1e-6f); });
  run(
      "W^T row-major with 128 bytes after each core's half of a row",
      [&](int c) {
        matmul_ab_bias(x, Matrix<const float>(gapped_half[c]), bias.view().data + c * half,
                       z.cols_view(c * half, half));
      },
      [&](int c) { matmul_atb_update(x, dz.cols_view(c * half, half), gapped_half[c], -1e-6f); });
  run(
      "W^T in two panels, each core's own",
      [&](int c) {
        matmul_ab_bias(x, Matrix<const float>(panel[c]), bias.view().data + c * half, z.cols_view(c * half, half));
      },
      [&](int c) { matmul_atb_update(x, dz.cols_view(c * half, half), panel[c], -1e-6f); });
  // Pipelined: core 0 owns W^T's first rows (the first inputs), core 1 the rest, in the update
  // and in the forward product: core 0 starts each block of the batch's rows at the bias and
  // adds its inputs' terms; core 1 goes on from there with its own (the same FMAs in order).
  const int h = in / 2;
  for (const int block : {8, 12, 16}) {
    std::atomic<int> ready{0};
    char name[80];
    std::snprintf(name, sizeof name, "W^T row-major, pipelined by inputs, blocks of %d rows", block);
    run(
        name,
        [&](int c) {
          for (int r0 = 0, b = 0; r0 < B; r0 += block, ++b) {
            const int n = std::min(block, B - r0);
            if (c == 0) {
              matmul_ab_bias(x.rows_view(r0, n).cols_view(0, h), Matrix<const float>(w).rows_view(0, h),
                             bias.view().data, z.rows_view(r0, n));
              ready.store(b + 1, std::memory_order_release);
            } else {
              while (ready.load(std::memory_order_acquire) <= b) __builtin_ia32_pause();
              matmul_ab<float>(x.rows_view(r0, n).cols_view(h, in - h), Matrix<const float>(w).rows_view(h, in - h),
                               z.rows_view(r0, n), true);
            }
          }
        },
        [&](int c) {
          if (c == 0) ready.store(0, std::memory_order_relaxed);
          matmul_atb_update(x.cols_view(c * h, h), dz, w.rows_view(c * h, h), -1e-6f);
        });
  }
  // Two partial sums by inputs, as a training step takes them (kernels/split.hpp): core 0
  // P0 = b + X[:, :h] W^T[:h], core 1 P1 = X[:, h:] W^T[h:], at once; then each core adds
  // Z = P0 + P1 for half the rows, as the step's rows phase does.
  {
    Tensor<float> P1(B, out);
    const Matrix<float> p1 = P1.view();
    std::atomic<int> finished{0};
    run(
        "W^T row-major, two partial sums by inputs (as training does)",
        [&](int c) {
          if (c == 0) matmul_ab_bias(x.cols_view(0, h), Matrix<const float>(w).rows_view(0, h), bias.view().data, z);
          else matmul_ab<float>(x.cols_view(h, in - h), Matrix<const float>(w).rows_view(h, in - h), p1, false);
          finished.fetch_add(1, std::memory_order_acq_rel);
          while (finished.load(std::memory_order_acquire) < 2) __builtin_ia32_pause();
          for (int r = c * B / 2; r < (c + 1) * B / 2; ++r)
            for (int j = 0; j < out; ++j) z(r, j) += p1(r, j);
        },
        [&](int c) {
          if (c == 0) finished.store(0, std::memory_order_relaxed);
          matmul_atb_update(x.cols_view(c * h, h), dz, w.rows_view(c * h, h), -1e-6f);
        });
  }
  run(
      "one core alone",
      [&](int c) {
        if (c == 0) matmul_ab_bias(x, Matrix<const float>(w), bias.view().data, z);
      },
      [&](int c) {
        if (c == 0) matmul_atb_update(x, dz, w, -1e-6f);
      });
  return 0;
}

// C = A B^T (a layer's dA = dZ W) both ways matmul_abt has, on one core, at the shapes of the
// seed network and of the presets' larger layers, with the way its rule picks: what the rule
// in src/kernels/gemm.cpp (abt_way_for) rests on. dZ half zeros, as ReLU layers' are.
static int abt() {
  Rng rng(1);
  set_threads(1);
  struct Shape {
    int rows, out, in;  // dZ: rows x out, W^T: in x out, dA: rows x in
  };
  std::printf("%-28s %12s %12s %8s\n", "dA = dZ W (rows, out, in)", "A (B^T) us", "C^T = B A^T", "rule");
  for (const Shape s : {Shape{1, 64, 128},
                        {8, 64, 128},
                        {16, 64, 128},
                        {32, 64, 128},
                        {64, 64, 128},
                        {32, 10, 64},
                        {32, 128, 256},
                        {128, 256, 1024},
                        {64, 512, 1024}}) {
    Tensor<float> dZ(s.rows, s.out), Wt(s.in, s.out), dA(s.rows, s.in);
    for (auto& v : dZ.storage) v = rng.uniform() < 0.5 ? 0.0f : float(rng.normal());
    for (auto& v : Wt.storage) v = float(rng.normal());
    double us[2];
    for (int way : {1, 2}) {
      use_abt_way(way);
      const int reps = std::clamp(int(4e8 / (double(s.rows) * s.out * s.in + 1e5)), 20, 5000);
      us[way - 1] = best_ns(reps, [&] { matmul_abt<float>(dZ.view(), Wt.view(), dA.view()); }) / 1e3;
    }
    use_abt_way(0);
    std::printf("%4d x %4d by %4d x %4d     %12.2f %12.2f %8s\n", s.rows, s.out, s.in, s.out, us[0], us[1],
                abt_way_for(s.rows, s.in, s.out) == 2 ? "C^T" : "A (B^T)");
  }
  set_threads(0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--abt") == 0) return abt();
  if (argc > 1 && std::strcmp(argv[1], "--sharing") == 0) return sharing();
  if (argc > 1 && std::strcmp(argv[1], "--costs") == 0) return costs();
  if (argc > 1 && std::strcmp(argv[1], "--int8") == 0) return int8();
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
    // On one core (what the product does: kOneRowWork in src/kernels/split.hpp), and split by
    // columns between two, each core half the weight rows' columns (what it would do split).
    for (int t : {1, 2}) {
      set_threads(t);
      const auto one = [&] { matmul_ab<float>(x.view(), Wt.view(), z.view()); };
      const auto split = [&] {
        run_parallel(2, [&](int c) {
          matmul_ab<float>(x.view(), Matrix<const float>(Wt.view()).cols_view(64 * c, 64),
                           z.view().cols_view(64 * c, 64));
        });
      };
      const double us = 2.0 * rows * 128 /
                        gflops(2.0 * rows * 128,
                               [&] {
                                 for (int i = 0; i < 100; ++i) t == 1 ? one() : split();
                               }) /
                        1e3 / 100;
      std::printf("one image, %2.0f%% zero pixels, %s: %.2f us, %.0f GB/s of weights read\n", zeros * 100,
                  t == 1 ? "one core" : "split between 2 cores", us, rows * 128 * 4 / us / 1e3);
    }
  }
}
