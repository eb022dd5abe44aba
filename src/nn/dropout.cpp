#include "digitnet/nn/dropout.hpp"

#include <algorithm>
#include <cmath>

#include "digitnet/core/rng.hpp"

namespace digitnet {
namespace {

// A 32-bit hash of (key, j) (murmur3's finaliser, twice): the uniform u of unit j, with no
// state carried from one unit to the next, so the loop vectorises.
inline std::uint32_t mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  return h ^ (h >> 16);
}

template <class T>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
void mask_row(const T* a, T* m, T* d, int n, std::uint32_t key_lo, std::uint32_t key_hi, std::uint32_t threshold,
              T scale) {
  for (int j = 0; j < n; ++j) {
    const std::uint32_t u = mix(mix(static_cast<std::uint32_t>(j) ^ key_lo) + key_hi);
    m[j] = u < threshold ? scale : T(0);
    d[j] = a[j] * m[j];
  }
}

}  // namespace

template <class T>
void dropout_forward(Matrix<const T> A, double p, std::uint64_t draw, Matrix<T> M, Matrix<T> D,
                     std::span<const std::size_t> keys) {
  const double keep = 1 - p;
  // Unit kept when its 32-bit uniform u < keep * 2^32.
  const auto threshold = static_cast<std::uint32_t>(std::min(std::ldexp(keep, 32), 4294967295.0));
  const T scale = T(1) / T(keep);
  for (int b = 0; b < A.rows; ++b) {
    const std::uint64_t key = Rng(draw, static_cast<std::uint64_t>(keys[b])).next();  // this row's key
    mask_row(A.row(b), M.row(b), D.row(b), A.cols, static_cast<std::uint32_t>(key),
             static_cast<std::uint32_t>(key >> 32), threshold, scale);
  }
}

template <class T>
void dropout_backward(Matrix<const T> M, Matrix<T> dD) {
  for (int b = 0; b < M.rows; ++b) {
    const T* m = M.row(b);
    T* g = dD.row(b);
    for (int j = 0; j < M.cols; ++j) g[j] *= m[j];
  }
}

template void dropout_forward<float>(Matrix<const float>, double, std::uint64_t, Matrix<float>, Matrix<float>,
                                     std::span<const std::size_t>);
template void dropout_forward<double>(Matrix<const double>, double, std::uint64_t, Matrix<double>, Matrix<double>,
                                      std::span<const std::size_t>);
template void dropout_backward<float>(Matrix<const float>, Matrix<float>);
template void dropout_backward<double>(Matrix<const double>, Matrix<double>);

}  // namespace digitnet
