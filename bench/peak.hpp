#pragma once
namespace digitnet_bench {
// Best of 5 runs, GFLOP/s, with `threads` threads each running FMA chains.
double measure_fma_peak(int threads);
}  // namespace digitnet_bench
