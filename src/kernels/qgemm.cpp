// The int8 products and the row quantizer (see qgemm.hpp).
//
// Two kernels compute the same integers: on CPUs with AVX-512 VNNI, vpdpbusd adds four
// uint8 x int8 products into each int32 lane (weights packed in quads of k); elsewhere the
// bytes are widened to int16 and Highway's ReorderWidenMulAccumulate (pmaddwd on x86) adds
// pairs. Neither saturates: a pair or quad of products is at most 4 * 255 * 127, and a sum over
// K < 2^15 inputs fits in int32. Integer sums are exact in any order, so the kernels, the tiles
// and the threads cannot change a bit; the float step after the sum is one FMA per element in
// both the kernels and the reference.
#include "kernels/qgemm.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <stdexcept>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/qgemm.cpp"
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#ifndef DIGITNET_QGEMM_ARGS
#define DIGITNET_QGEMM_ARGS
namespace digitnet::qgemm_detail {
struct Args {
  int M;
  const void* A;  // uint8 rows (VNNI) or int16 rows (pairs), lda elements apart
  std::ptrdiff_t lda;
  const std::int32_t* zp;
  const float* rs;
  const QuantizedLayer* W;
  float* Z;
  std::ptrdiff_t ldz;
};
}  // namespace digitnet::qgemm_detail
#endif

HWY_BEFORE_NAMESPACE();
namespace digitnet {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using qgemm_detail::Args;

#if HWY_TARGET == HWY_SCALAR
// One lane has no pairs of int16 to multiply: plain loops over the same layout.
static void PairKernel(const Args& o) {
  const QuantizedLayer& w = *o.W;
  const auto* A = static_cast<const std::int16_t*>(o.A);
  for (int i = 0; i < o.M; ++i)
    for (int j = 0; j < w.Np; ++j) {
      std::int32_t sum = 0;
      for (int k = 0; k < w.Kp; ++k)
        sum += std::int32_t{A[i * o.lda + k]} * w.pairs[(std::size_t(k / 2) * w.Np + j) * 2 + k % 2];
      const std::int32_t acc = sum - o.zp[i] * w.colsum[j];
      o.Z[i * o.ldz + j] = std::fma(static_cast<float>(acc), o.rs[i] * w.scale[j], w.bias[j]);
    }
}
#else
// Rows [i, i + MR) x NV vectors of int32 columns at j, over every pair of k.
template <int MR, int NV>
HWY_INLINE void PairTile(const Args& o, int i, int j) {
  const hn::ScalableTag<std::int32_t> di;
  const hn::ScalableTag<float> df;
  const hn::Repartition<std::int16_t, decltype(di)> d16;
  using V = hn::Vec<decltype(di)>;
  const std::size_t L = hn::Lanes(di);
  const QuantizedLayer& w = *o.W;
  V c0[MR][NV], c1[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) c0[r][v] = c1[r][v] = hn::Zero(di);
  const auto* A = static_cast<const std::int16_t*>(o.A);
  const int pairs = w.Kp / 2;
  for (int kp = 0; kp < pairs; ++kp) {
    const std::int16_t* b_row = w.pairs.data() + (static_cast<std::size_t>(kp) * w.Np + j) * 2;
    hn::Vec<decltype(d16)> b[NV];
    for (int v = 0; v < NV; ++v) b[v] = hn::LoadU(d16, b_row + v * 2 * L);
    for (int r = 0; r < MR; ++r) {
      std::int32_t word;
      std::memcpy(&word, A + (i + r) * o.lda + 2 * kp, sizeof word);
      const auto a = hn::BitCast(d16, hn::Set(di, word));
      for (int v = 0; v < NV; ++v) c0[r][v] = hn::ReorderWidenMulAccumulate(di, a, b[v], c0[r][v], c1[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    const V zp = hn::Set(di, o.zp[i + r]);
    const auto rs = hn::Set(df, o.rs[i + r]);
    for (int v = 0; v < NV; ++v) {
      const int col = j + v * static_cast<int>(L);
      const V sum = hn::RearrangeToOddPlusEven(c0[r][v], c1[r][v]);
      const V acc = hn::Sub(sum, hn::Mul(zp, hn::LoadU(di, w.colsum.data() + col)));
      const auto s = hn::Mul(rs, hn::LoadU(df, w.scale.data() + col));
      hn::StoreU(hn::MulAdd(hn::ConvertTo(df, acc), s, hn::LoadU(df, w.bias.data() + col)), df,
                 o.Z + (i + r) * o.ldz + col);
    }
  }
}

template <int MR>
HWY_INLINE void PairRows(const Args& o, int i) {
  const int L = static_cast<int>(hn::Lanes(hn::ScalableTag<std::int32_t>()));
  const int Np = o.W->Np;
  int j = 0;
  for (; j + 4 * L <= Np; j += 4 * L) PairTile<MR, 4>(o, i, j);
  for (; j + L <= Np; j += L) PairTile<MR, 1>(o, i, j);
}

static void PairKernel(const Args& o) {
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3
  constexpr int kRows = 2;  // 16 registers: 8 + 4 + 1
#else
  constexpr int kRows = 6;
#endif
  int i = 0;
  for (; i + kRows <= o.M; i += kRows) PairRows<kRows>(o, i);
  for (; i < o.M; ++i) PairRows<1>(o, i);
}
#endif

static void QuantizeRows(const float* X, std::ptrdiff_t ldx, int M, int n, float lo, float hi, std::uint8_t* Q,
                         std::ptrdiff_t ldq, int width, float* scale, std::int32_t* zp) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const hn::Rebind<std::uint8_t, decltype(di)> d8;
  const int L = static_cast<int>(hn::Lanes(df));
  for (int i = 0; i < M; ++i) {
    const float* x = X + i * ldx;
    std::uint8_t* q = Q + i * ldq;
    auto vmin = hn::Set(df, lo), vmax = hn::Set(df, hi);
    int k = 0;
    for (; k + L <= n; k += L) {
      const auto v = hn::LoadU(df, x + k);
      vmin = hn::Min(vmin, v);
      vmax = hn::Max(vmax, v);
    }
    float mn = hn::GetLane(hn::MinOfLanes(df, vmin)), mx = hn::GetLane(hn::MaxOfLanes(df, vmax));
    for (; k < n; ++k) {
      mn = std::min(mn, x[k]);
      mx = std::max(mx, x[k]);
    }
    float s = (mx - mn) / 255.0f;
    if (!(s > 0)) s = 1.0f;  // a row of zeros (or nothing to hold)
    const float inv = 1.0f / s;
    const float z = std::min(std::max(std::nearbyint(-mn * inv), 0.0f), 255.0f);
    scale[i] = s;
    zp[i] = static_cast<std::int32_t>(z);
    const auto vinv = hn::Set(df, inv), vz = hn::Set(df, z), top = hn::Set(df, 255.0f), bottom = hn::Zero(df);
    for (k = 0; k + L <= n; k += L) {
      const auto t = hn::Min(hn::Max(hn::Add(hn::Round(hn::Mul(hn::LoadU(df, x + k), vinv)), vz), bottom), top);
      hn::StoreU(hn::DemoteTo(d8, hn::ConvertTo(di, t)), d8, q + k);
    }
    for (; k < n; ++k) {
      const float t = std::min(std::max(std::nearbyint(x[k] * inv) + z, 0.0f), 255.0f);
      q[k] = static_cast<std::uint8_t>(t);
    }
    std::fill(q + n, q + width, std::uint8_t{0});
  }
}

static const char* TargetName() { return hwy::TargetName(HWY_TARGET); }

}  // namespace HWY_NAMESPACE
}  // namespace digitnet
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DIGITNET_HAVE_VNNI 1
#include <immintrin.h>
#define DIGITNET_VNNI_ATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))
// The tile's loops unrolled, and vpdpbusd written as inline assembly: with the intrinsic, GCC 12
// kept the 24 accumulators in memory too, storing each after every quad (half the speed).
#if defined(__clang__)
#define DIGITNET_UNROLL _Pragma("unroll")
#else
#define DIGITNET_UNROLL _Pragma("GCC unroll 16")
#endif
#else
#define DIGITNET_HAVE_VNNI 0
#endif

namespace digitnet {

HWY_EXPORT(PairKernel);
HWY_EXPORT(QuantizeRows);
HWY_EXPORT(TargetName);

namespace {

using qgemm_detail::Args;

bool cpu_has_vnni() {
#if DIGITNET_HAVE_VNNI
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vnni");
#else
  return false;
#endif
}

std::atomic<bool> vnni_on{cpu_has_vnni()};

#if DIGITNET_HAVE_VNNI
// Rows [i, i + MR) x NV vectors of 16 int32 columns at j, over every quad of k.
// ks: the quads of k to visit (nk of them): those where some row of the tile has a nonzero byte
// (an all-zero quad adds exactly 0; background pixels and inactive units are zeros).
template <int MR, int NV>
DIGITNET_VNNI_ATTR inline void vnni_tile(const Args& o, int i, int j, const int* ks, int nk) {
  const QuantizedLayer& w = *o.W;
  const auto* A = static_cast<const std::uint8_t*>(o.A);
  __m512i c[MR][NV];
  DIGITNET_UNROLL for (int r = 0; r < MR; ++r) DIGITNET_UNROLL for (int v = 0; v < NV; ++v) c[r][v] =
      _mm512_setzero_si512();
  const std::int8_t* base = w.quads.data() + static_cast<std::size_t>(j) * 4;
  for (int t = 0; t < nk; ++t) {
    const int kq = ks[t];
    const std::int8_t* b_row = base + static_cast<std::size_t>(kq) * w.Np * 4;
    __m512i b[NV];
    DIGITNET_UNROLL for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_si512(b_row + v * 64);
    DIGITNET_UNROLL for (int r = 0; r < MR; ++r) {
      std::int32_t word;
      std::memcpy(&word, A + (i + r) * o.lda + 4 * kq, sizeof word);
      const __m512i a = _mm512_set1_epi32(word);
      DIGITNET_UNROLL for (int v = 0; v < NV; ++v) asm("vpdpbusd %2, %1, %0" : "+v"(c[r][v]) : "v"(a), "v"(b[v]));
    }
  }
  DIGITNET_UNROLL for (int r = 0; r < MR; ++r) {
    const __m512i zp = _mm512_set1_epi32(o.zp[i + r]);
    const __m512 rs = _mm512_set1_ps(o.rs[i + r]);
    DIGITNET_UNROLL for (int v = 0; v < NV; ++v) {
      const int col = j + 16 * v;
      const __m512i acc = _mm512_sub_epi32(c[r][v], _mm512_mullo_epi32(zp, _mm512_loadu_si512(w.colsum.data() + col)));
      const __m512 s = _mm512_mul_ps(rs, _mm512_loadu_ps(w.scale.data() + col));
      _mm512_storeu_ps(o.Z + (i + r) * o.ldz + col,
                       _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), s, _mm512_loadu_ps(w.bias.data() + col)));
    }
  }
}

template <int MR>
DIGITNET_VNNI_ATTR inline void vnni_rows(const Args& o, int i, int* ks) {
  const auto* A = static_cast<const std::uint8_t*>(o.A) + i * o.lda;
  const int quads = o.W->Kp / 4;
  int nk = 0;
  for (int kq = 0; kq < quads; ++kq) {
    std::uint32_t any = 0;
    for (int r = 0; r < MR; ++r) {
      std::uint32_t word;
      std::memcpy(&word, A + r * o.lda + 4 * kq, sizeof word);
      any |= word;
    }
    ks[nk] = kq;
    nk += any != 0;
  }
  const int vectors = o.W->Np / 16;
  int v = 0;
  if constexpr (MR == 1)
    for (; v + 8 <= vectors; v += 8) vnni_tile<1, 8>(o, i, 16 * v, ks, nk);
  for (; v + 4 <= vectors; v += 4) vnni_tile<MR, 4>(o, i, 16 * v, ks, nk);
  switch (vectors - v) {
    case 3: vnni_tile<MR, 3>(o, i, 16 * v, ks, nk); break;
    case 2: vnni_tile<MR, 2>(o, i, 16 * v, ks, nk); break;
    case 1: vnni_tile<MR, 1>(o, i, 16 * v, ks, nk); break;
    default: break;
  }
}

DIGITNET_VNNI_ATTR void vnni_kernel(const Args& o) {
  thread_local std::vector<int> terms;
  terms.resize(o.W->Kp / 4 + 1);
  int* ks = terms.data();
  int i = 0;
  for (; i + 6 <= o.M; i += 6) vnni_rows<6>(o, i, ks);
  for (; i + 2 <= o.M; i += 2) vnni_rows<2>(o, i, ks);
  for (; i < o.M; ++i) vnni_rows<1>(o, i, ks);
}
#endif

int round_up(int n, int to) { return (n + to - 1) / to * to; }

}  // namespace

QuantizedLayer QuantizedLayer::from_float(Matrix<const float> Wt, const float* bias) {
  QuantizedLayer l;
  l.K = Wt.rows;
  l.N = Wt.cols;
  if (l.K >= (1 << 15)) throw std::invalid_argument("int8 layers take fewer than 32768 inputs");
  l.Kp = round_up(l.K, 4);
  l.Np = round_up(l.N, 16);
  l.q.resize(static_cast<std::size_t>(l.K) * l.N);
  l.scale.assign(l.Np, 0.0f);
  l.bias.assign(l.Np, 0.0f);
  l.colsum.assign(l.Np, 0);
  for (int j = 0; j < l.N; ++j) {
    float m = 0;
    for (int k = 0; k < l.K; ++k) m = std::max(m, std::abs(Wt(k, j)));
    const float s = m > 0 ? m / 127.0f : 1.0f;
    l.scale[j] = s;
    l.bias[j] = bias[j];
    for (int k = 0; k < l.K; ++k) {
      const float t = std::min(std::max(std::nearbyint(Wt(k, j) / s), -127.0f), 127.0f);
      l.q[static_cast<std::size_t>(k) * l.N + j] = static_cast<std::int8_t>(t);
      l.colsum[j] += static_cast<std::int8_t>(t);
    }
  }
  l.pack();
  return l;
}

void QuantizedLayer::pack() {
  group = vnni_in_use() ? 4 : 2;
  quads.clear();
  pairs.clear();
  const auto at = [&](int k, int j) -> std::int8_t {
    return k < K && j < N ? q[static_cast<std::size_t>(k) * N + j] : std::int8_t{0};
  };
  if (group == 4) {
    quads.assign(static_cast<std::size_t>(Kp) * Np, 0);
    for (int kq = 0; kq < Kp / 4; ++kq)
      for (int j = 0; j < Np; ++j)
        for (int g = 0; g < 4; ++g) quads[(static_cast<std::size_t>(kq) * Np + j) * 4 + g] = at(4 * kq + g, j);
  } else {
    pairs.assign(static_cast<std::size_t>(Kp) * Np, 0);
    for (int kp = 0; kp < Kp / 2; ++kp)
      for (int j = 0; j < Np; ++j)
        for (int g = 0; g < 2; ++g) pairs[(static_cast<std::size_t>(kp) * Np + j) * 2 + g] = at(2 * kp + g, j);
  }
}

void qgemm_reference(const std::uint8_t* A, std::ptrdiff_t lda, int M, const std::int32_t* zp, const float* rs,
                     const QuantizedLayer& W, float* Z, std::ptrdiff_t ldz) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < W.Np; ++j) {
      std::int32_t sum = 0;
      if (j < W.N)
        for (int k = 0; k < W.K; ++k) sum += std::int32_t{A[i * lda + k]} * W.q[static_cast<std::size_t>(k) * W.N + j];
      const std::int32_t acc = sum - zp[i] * W.colsum[j];
      Z[i * ldz + j] = std::fma(static_cast<float>(acc), rs[i] * W.scale[j], W.bias[j]);
    }
}

void qgemm(const std::uint8_t* A, std::ptrdiff_t lda, int M, const std::int32_t* zp, const float* rs,
           const QuantizedLayer& W, float* Z, std::ptrdiff_t ldz) {
  if (M <= 0) return;
  const bool vnni = vnni_in_use();
  if (W.group != (vnni ? 4 : 2)) return qgemm_reference(A, lda, M, zp, rs, W, Z, ldz);  // packed for another kernel
#if DIGITNET_HAVE_VNNI
  if (vnni) return vnni_kernel({M, A, lda, zp, rs, &W, Z, ldz});
#endif
  // The bytes widened to int16, a pair of k read as one 32-bit word.
  thread_local AlignedVector<std::int16_t> wide;
  wide.resize(static_cast<std::size_t>(M) * W.Kp);
  for (int i = 0; i < M; ++i)
    for (int k = 0; k < W.Kp; ++k) wide[static_cast<std::size_t>(i) * W.Kp + k] = A[i * lda + k];
  HWY_DYNAMIC_DISPATCH(PairKernel)({M, wide.data(), W.Kp, zp, rs, &W, Z, ldz});
}

void quantize_rows_reference(const float* X, std::ptrdiff_t ldx, int M, int n, float lo, float hi, std::uint8_t* Q,
                             std::ptrdiff_t ldq, int width, float* scale, std::int32_t* zp) {
  for (int i = 0; i < M; ++i) {
    const float* x = X + i * ldx;
    std::uint8_t* q = Q + i * ldq;
    float mn = lo, mx = hi;
    for (int k = 0; k < n; ++k) {
      mn = std::min(mn, x[k]);
      mx = std::max(mx, x[k]);
    }
    float s = (mx - mn) / 255.0f;
    if (!(s > 0)) s = 1.0f;
    const float inv = 1.0f / s;
    const float z = std::min(std::max(std::nearbyint(-mn * inv), 0.0f), 255.0f);
    scale[i] = s;
    zp[i] = static_cast<std::int32_t>(z);
    for (int k = 0; k < n; ++k) {
      float t = std::nearbyint(x[k] * inv) + z;
      t = t >= 0.0f ? std::min(t, 255.0f) : 0.0f;
      q[k] = static_cast<std::uint8_t>(t);
    }
    std::fill(q + n, q + width, std::uint8_t{0});
  }
}

void quantize_rows(const float* X, std::ptrdiff_t ldx, int M, int n, float lo, float hi, std::uint8_t* Q,
                   std::ptrdiff_t ldq, int width, float* scale, std::int32_t* zp) {
  HWY_DYNAMIC_DISPATCH(QuantizeRows)(X, ldx, M, n, lo, hi, Q, ldq, width, scale, zp);
}

bool vnni_in_use() { return vnni_on.load(std::memory_order_relaxed); }
void use_vnni(bool on) { vnni_on.store(on && cpu_has_vnni()); }
const char* int8_kernel_name() { return vnni_in_use() ? "VNNI" : HWY_DYNAMIC_DISPATCH(TargetName)(); }

}  // namespace digitnet
#endif  // HWY_ONCE
