// Matrix products for the dense layers (see gemm.hpp for which is which).
//
// Every product is computed as   C[i, j] (+)= sum over k, in order, of a(i, k) * B[k, j]
// with one fused multiply-add per term, where a(i, k) reads A or A^T. Because each
// element of C gets exactly that sequence of FMAs:
//   - the SIMD kernel (a register tile of C; a(i, k) broadcast, rows of B loaded) gives
//     the same values as the plain loops, on every CPU with FMA;
//   - splitting C between threads never changes a bit.
// The one liberty: terms whose a(i, k) is zero for every row of a tile are left out (see
// NonzeroTerms); they add exactly zero, so at most the sign of a zero sum can differ.
// The SIMD kernel is compiled by Highway for every target (SSE4, AVX2, AVX-512, NEON, ...)
// and picked at run time for the CPU at hand; no -march=native. (On CPUs without FMA,
// SSE4 and older, Highway's MulAdd rounds twice and results differ in the last bits.)
// A B^T is turned into A B by transposing an operand (see abt_way_for).
#include "kernels/gemm.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "src/kernels/gemm.cpp"
#include <hwy/foreach_target.h>  // must come before highway.h
#include <hwy/highway.h>

#include "kernels/split.hpp"

// Defined once, outside the per-target namespaces (this file is compiled once per target).
#ifndef DIGITNET_GEMM_OPERANDS
#define DIGITNET_GEMM_OPERANDS
namespace digitnet::gemm_detail {
// Lists of term indices have room for K and one vector more (NonzeroTerms stores whole vectors).
constexpr int kTermsSpare = 64;
struct Operands {
  int M, N, K;
  const float* A;
  std::ptrdiff_t a_row, a_col;  // a(i, k) = A[i * a_row + k * a_col]
  const float* B;
  std::ptrdiff_t ldb;
  float* C;
  std::ptrdiff_t ldc;
  bool accumulate;      // start from C instead of 0
  bool update = false;  // instead of C = P, do C += alpha * P (one FMA per element)
  float alpha = 0;
  bool sparse_a = true;         // A may hold many zeros (inputs, activations): skip their terms
  const float* bias = nullptr;  // start every row of C at bias (N) instead of 0
};
}  // namespace digitnet::gemm_detail
#endif

HWY_BEFORE_NAMESPACE();
namespace digitnet {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;
using gemm_detail::kTermsSpare;
using gemm_detail::Operands;

// Tile shape: MR rows x NV vectors of C live in registers while k runs.
#if HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3
constexpr int kRows = 6, kVectors = 2;  // 16 registers: 12 accumulators + 2 rows of B + 1 broadcast
#else
constexpr int kRows = 6, kVectors = 4;  // 32 registers: 24 accumulators + 4 + 1
#endif

// A vector of C or of a row of B: whole, or (kMasked) only its first lanes, with the mask m.
// Masked loads and stores never touch the memory of the lanes left out on AVX-512, the only
// target that uses them (for the last columns, narrower than a vector: the 10 classes).
// The mask of the first n lanes, or (unmasked) nothing to compute.
template <bool kMasked, class D>
HWY_INLINE auto LaneMask(D d, std::size_t n) {
  if constexpr (kMasked) return hn::FirstN(d, n);
  else return 0;
}
template <bool kMasked, class D, class M>
HWY_INLINE hn::Vec<D> LoadLanes(D d, M m, const float* p) {
  if constexpr (kMasked) return hn::MaskedLoad(m, d, p);
  else return hn::LoadU(d, p);
}
template <bool kMasked, class D, class M>
HWY_INLINE void StoreLanes(D d, M m, hn::Vec<D> v, float* p) {
  if constexpr (kMasked) hn::BlendedStore(v, m, d, p);
  else hn::StoreU(v, d, p);
}

// What a register tile of C starts from, and what becomes of it: fixed for a whole product, so
// each kind is compiled apart. With the choice made per tile, the compiler kept the tile in
// memory around the branches and reloaded the operands after every store: `build/gemm_bench`'s
// layer-1 weight gradient (dWt = X^T dZ, batch 32, one thread) ran at 118 GFLOP/s, now 149.
enum class Start { zero, bias, load };  // 0, the bias, C
enum class Finish { store, update };    // C = P, C += alpha P

// The starting value of a register tile of C at (i, j). n: the lanes in use of each vector
// (all but for kMasked).
template <Start S, int MR, int NV, bool kMasked = false, class D, class V = hn::Vec<D>>
HWY_INLINE void LoadTile(D d, const Operands& o, int i, int j, V (&c)[MR][NV], std::size_t n) {
  const std::size_t L = hn::Lanes(d);
  const auto m = LaneMask<kMasked>(d, n);
  if constexpr (S == Start::bias) {
    HWY_UNROLL(16)
    for (int v = 0; v < NV; ++v) {
      const V b = LoadLanes<kMasked>(d, m, o.bias + j + v * L);
      HWY_UNROLL(16)
      for (int r = 0; r < MR; ++r) c[r][v] = b;
    }
  } else if constexpr (S == Start::zero) {
    HWY_UNROLL(16)
    for (int r = 0; r < MR; ++r) {
      HWY_UNROLL(16)
      for (int v = 0; v < NV; ++v) c[r][v] = hn::Zero(d);
    }
  } else {
    HWY_UNROLL(16)
    for (int r = 0; r < MR; ++r) {
      HWY_UNROLL(16)
      for (int v = 0; v < NV; ++v) c[r][v] = LoadLanes<kMasked>(d, m, o.C + (i + r) * o.ldc + j + v * L);
    }
  }
}

// Writes a register tile back.
template <Finish F, int MR, int NV, bool kMasked = false, class D, class V = hn::Vec<D>>
HWY_INLINE void StoreTile(D d, const Operands& o, int i, int j, V (&c)[MR][NV], std::size_t n) {
  const std::size_t L = hn::Lanes(d);
  const auto m = LaneMask<kMasked>(d, n);
  float* const c0 = o.C + i * o.ldc + j;  // read before the stores, which could alias o for all the compiler knows
  const std::ptrdiff_t ldc = o.ldc;
  const V alpha = hn::Set(d, o.alpha);
  HWY_UNROLL(16)
  for (int r = 0; r < MR; ++r) {
    HWY_UNROLL(16)
    for (int v = 0; v < NV; ++v) {
      float* out = c0 + r * ldc + v * L;
      if constexpr (F == Finish::update)
        StoreLanes<kMasked>(d, m, hn::MulAdd(alpha, c[r][v], LoadLanes<kMasked>(d, m, out)), out);
      else StoreLanes<kMasked>(d, m, c[r][v], out);
    }
  }
}

// One MR x NV tile at (i, j); d is the full vector tag, or the 1-lane tag for the edge.
// ks lists the k to visit (nk of them), or is null for every k. kMasked: one vector of which
// only the first `valid` lanes are columns of C. kUnitRow: a(i, k)'s rows are adjacent (A^T,
// a weight gradient), so the tile's MR values of a k are at fixed offsets: five fewer
// registers for the addresses, which otherwise spill in the loop over k.
template <Start S, Finish F, bool kUnitRow, int MR, int NV, bool kMasked = false, class D>
HWY_INLINE void Tile(D d, const Operands& o, int i, int j, const int* ks, int nk, std::size_t valid = 0) {
  using V = hn::Vec<D>;
  const std::size_t L = hn::Lanes(d), n = kMasked ? valid : L;
  const auto m = LaneMask<kMasked>(d, n);
  V c[MR][NV];
  LoadTile<S, MR, NV, kMasked>(d, o, i, j, c, n);
  const std::ptrdiff_t a_row = kUnitRow ? 1 : o.a_row, a_col = o.a_col, ldb = o.ldb;
  const float* const a = o.A + i * a_row;
  const float* const b0 = o.B + j;
  const auto term = [&](std::ptrdiff_t k) HWY_ATTR {  // c += a(., k) B[k, .]
    const float* b_row = b0 + k * ldb;
    const float* a_k = a + k * a_col;
    V b[NV];
    HWY_UNROLL(16)
    for (int v = 0; v < NV; ++v) b[v] = LoadLanes<kMasked>(d, m, b_row + v * L);
    HWY_UNROLL(16)
    for (int r = 0; r < MR; ++r) {
      const V ar = hn::Set(d, a_k[r * a_row]);
      HWY_UNROLL(16)
      for (int v = 0; v < NV; ++v) c[r][v] = hn::MulAdd(ar, b[v], c[r][v]);
    }
  };
  if (ks == nullptr) {
    const int K = o.K;
    for (int k = 0; k < K; ++k) term(k);
  } else {
    for (int t = 0; t < nk; ++t) term(ks[t]);
  }
  StoreTile<F, MR, NV, kMasked>(d, o, i, j, c, n);
}

// Which k a tile of rows [i, i + MR) must visit: those where a(r, k) != 0 for some row r.
// A term whose a(r, k) is 0 (or -0) adds exactly zero to C[r, j] (the weights are finite),
// so leaving it out changes nothing but, at most, the sign of a sum that is exactly zero.
// Inputs and ReLU outputs are often half zeros (pixels of the background, inactive units):
// a tile of a few rows then skips a good share of its terms. Writes them to ks in order and
// returns how many.
template <int MR>
HWY_INLINE int NonzeroTerms(const Operands& o, int i, int* ks) {
  const hn::ScalableTag<float> df;
  const hn::RebindToSigned<decltype(df)> di;
  const float* a = o.A + i * o.a_row;
  const auto magnitude = hn::Set(di, 0x7fffffff);  // +0 and -0 alike
  int nk = 0;
  int k = 0;
  if (o.a_col == 1) {  // a row of A: k runs along memory; test a vector of k across the MR rows
    const int L = static_cast<int>(hn::Lanes(di));
    const auto step = hn::Set(di, L);
    auto iota = hn::Iota(di, 0);  // k, k + 1, ... (built once: Iota(k) in the loop was slow)
    for (; k + L <= o.K; k += L, iota = hn::Add(iota, step)) {
      auto any = hn::Zero(di);
      for (int r = 0; r < MR; ++r) any = hn::Or(any, hn::BitCast(di, hn::LoadU(df, a + r * o.a_row + k)));
      const auto nonzero = hn::Ne(hn::And(any, magnitude), hn::Zero(di));
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
      // Compress in a register and store the whole vector (ks has a vector's room to spare):
      // a compressing store to memory is microcoded, and slow, on some CPUs (AMD Zen 4).
      hn::StoreU(hn::Compress(iota, nonzero), di, ks + nk);
      nk += static_cast<int>(hn::CountTrue(di, nonzero));
#else
      // Without AVX-512's compress instruction, Highway's is slower than taking the lanes'
      // bits one by one (measured on AVX2 and SSE4: 1.5x).
      std::uint8_t bits[(hn::MaxLanes(di) + 7) / 8];
      hn::StoreMaskBits(di, nonzero, bits);
      for (int l = 0; l < L; ++l) {
        ks[nk] = k + l;
        nk += (bits[l >> 3] >> (l & 7)) & 1;
      }
#endif
    }
  } else if (o.a_row == 1 && MR >= 4) {  // A^T: the tile's MR values of one k are adjacent
    const hn::CappedTag<float, (MR >= 8 ? 8 : 4)> dc;
    const hn::RebindToSigned<decltype(dc)> dci;
    constexpr int C = MR >= 8 ? 8 : 4;
    static_assert(MR <= 2 * C);
    for (; k < o.K; ++k) {  // two loads that cover the MR values (they may overlap)
      const float* p = a + k * o.a_col;
      const auto any = hn::Or(hn::BitCast(dci, hn::LoadU(dc, p)), hn::BitCast(dci, hn::LoadU(dc, p + MR - C)));
      ks[nk] = k;
      nk += !hn::AllFalse(dci, hn::Ne(hn::And(any, hn::Set(dci, 0x7fffffff)), hn::Zero(dci)));
    }
  }
  for (; k < o.K; ++k) {
    std::uint32_t any = 0;
    for (int r = 0; r < MR; ++r) any |= std::bit_cast<std::uint32_t>(a[r * o.a_row + k * o.a_col]);
    ks[nk] = k;
    nk += (any & 0x7fffffffu) != 0;
  }
  return nk;
}

// A single row of C (one image at inference) reads a row of B for every k, from L2: that
// read is its cost. So only the k with a(0, k) != 0 are visited, in order (ks): a zero input
// adds exactly 0 to every element (the weights are finite), so this is the full FMA sequence
// less terms that change nothing (but, at most, the sign of a sum that is exactly zero), and
// it halves the reads for a typical image. NV vectors at once keep enough independent FMA
// chains in flight.
template <Start S, Finish F, int NV, class D>
HWY_INLINE void SparseTile(D d, const Operands& o, const int* ks, int nk, int j) {
  using V = hn::Vec<D>;
  const std::size_t L = hn::Lanes(d);
  V c[1][NV];
  LoadTile<S, 1, NV>(d, o, 0, j, c, L);
  for (int t = 0; t < nk; ++t) {
    const std::ptrdiff_t k = ks[t];
    const V a = hn::Set(d, o.A[k * o.a_col]);
    const float* b_row = o.B + k * o.ldb + j;
    for (int v = 0; v < NV; ++v) c[0][v] = hn::MulAdd(a, hn::LoadU(d, b_row + v * L), c[0][v]);
  }
  StoreTile<F, 1, NV>(d, o, 0, j, c, L);
}

template <Start S, Finish F, std::size_t kLanes>
HWY_INLINE void SparseEdge(const Operands& o, const int* ks, int nk, int& j, int j1) {
  if constexpr (kLanes >= 1) {
    const hn::CappedTag<float, kLanes> d;
    const int L = static_cast<int>(hn::Lanes(d));
    for (; j + L <= j1; j += L) SparseTile<S, F, 1>(d, o, ks, nk, j);
    if constexpr (kLanes > 1) SparseEdge<S, F, kLanes / 2>(o, ks, nk, j, j1);
  }
}

// Columns [j0, j1) of a one-row C over the listed k.
template <Start S, Finish F>
HWY_INLINE void SparseRowOf(const Operands& o, const int* ks, int nk, int j0, int j1) {
  const hn::ScalableTag<float> d;
  const int L = static_cast<int>(hn::Lanes(d));
  int j = j0;
  for (; j + 8 * L <= j1; j += 8 * L) SparseTile<S, F, 8>(d, o, ks, nk, j);
  // What is left of whole vectors in one pass over the rows (a pass per vector would pay the
  // rows' latency again for each).
  switch ((j1 - j) / L) {
    case 7: SparseTile<S, F, 7>(d, o, ks, nk, j); break;
    case 6: SparseTile<S, F, 6>(d, o, ks, nk, j); break;
    case 5: SparseTile<S, F, 5>(d, o, ks, nk, j); break;
    case 4: SparseTile<S, F, 4>(d, o, ks, nk, j); break;
    case 3: SparseTile<S, F, 3>(d, o, ks, nk, j); break;
    case 2: SparseTile<S, F, 2>(d, o, ks, nk, j); break;
    case 1: SparseTile<S, F, 1>(d, o, ks, nk, j); break;
    default: break;
  }
  j += (j1 - j) / L * L;
  SparseEdge<S, F, 8>(o, ks, nk, j, j1);
}

// The last columns, narrower than a vector: halve the vector until it fits (10 classes
// on AVX-512: 8 lanes, then 2).
template <Start S, Finish F, bool kUnitRow, int MR, std::size_t kLanes>
HWY_INLINE void EdgeColumns(const Operands& o, int i, int& j, int j1, const int* ks, int nk) {
  if constexpr (kLanes >= 1) {
    const hn::CappedTag<float, kLanes> d;
    const int L = static_cast<int>(hn::Lanes(d));
    for (; j + L <= j1; j += L) Tile<S, F, kUnitRow, MR, 1>(d, o, i, j, ks, nk);
    if constexpr (kLanes > 1) EdgeColumns<S, F, kUnitRow, MR, kLanes / 2>(o, i, j, j1, ks, nk);
  }
}

// Rows [i, i + MR) of C, columns [j0, j1), over the terms NonzeroTerms keeps (ks: room for K).
template <Start S, Finish F, bool kUnitRow, int MR, int NV = kVectors>
HWY_INLINE void Rows(const Operands& o, int i, int j0, int j1, int* ks) {
  const hn::ScalableTag<float> d;
  const int L = static_cast<int>(hn::Lanes(d));
  // Finding the zero terms costs about a tenth of a tile's work: worth it only when A may
  // have zeros and the list serves at least two vectors of C.
  const int nk = o.sparse_a && j1 - j0 >= 2 * L ? NonzeroTerms<MR>(o, i, ks) : o.K;
  const int* list = nk == o.K ? nullptr : ks;  // none to skip: the plain loop over k
  int j = j0;
  for (; j + NV * L <= j1; j += NV * L) Tile<S, F, kUnitRow, MR, NV>(d, o, i, j, list, nk);
  for (; j + L <= j1; j += L) Tile<S, F, kUnitRow, MR, 1>(d, o, i, j, list, nk);
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if (j < j1) Tile<S, F, kUnitRow, MR, 1, /*kMasked=*/true>(d, o, i, j, list, nk, static_cast<std::size_t>(j1 - j));
#else
  EdgeColumns<S, F, kUnitRow, MR, 8>(o, i, j, j1, list, nk);
#endif
}

// Columns [j0, j1) of C. (Blocking k so a block of B stays in L1 was measured slower
// here at every shape digitnet uses: the hardware prefetcher streams B from L2 well.)
template <Start S, Finish F, bool kUnitRow>
HWY_INLINE void KernelOf(const Operands& o, int j0, int j1) {
  thread_local std::vector<int> terms;
  if (terms.size() < static_cast<std::size_t>(o.K) + kTermsSpare) terms.resize(o.K + kTermsSpare);
  int* ks = terms.data();
  int i = 0;
#if !(HWY_ARCH_X86 && HWY_TARGET > HWY_AVX3)
  // With a long k (a layer's forward product), B is read again for every row tile, from L2:
  // 12-row tiles read it half as often (measured: layer 1 at batch 32, +5-10%).
  if (o.K >= 64)
    for (; i + 12 <= o.M; i += 12) Rows<S, F, kUnitRow, 12, 2>(o, i, j0, j1, ks);
#endif
  for (; i + kRows <= o.M; i += kRows) Rows<S, F, kUnitRow, kRows>(o, i, j0, j1, ks);
  for (; i + 2 <= o.M; i += 2) Rows<S, F, kUnitRow, 2>(o, i, j0, j1, ks);
  for (; i < o.M; ++i) Rows<S, F, kUnitRow, 1>(o, i, j0, j1, ks);
}

// Calls fn(start, finish) with o's kind as compile-time constants. The bias excludes the
// update, as in the plain loops.
template <class Fn>
HWY_INLINE void ByKind(const Operands& o, const Fn& fn) {
  using S = Start;
  using F = Finish;
  const auto kind = [&fn](auto s, auto f) HWY_ATTR {
    fn(std::integral_constant<S, decltype(s)::value>(), std::integral_constant<F, decltype(f)::value>());
  };
  constexpr std::integral_constant<S, S::zero> zero;
  constexpr std::integral_constant<F, F::store> store;
  const bool from_c = o.accumulate && !o.update;  // the update adds its product to C at the end
  if (o.bias) return kind(std::integral_constant<S, S::bias>(), store);
  if (o.update) return kind(zero, std::integral_constant<F, F::update>());
  return from_c ? kind(std::integral_constant<S, S::load>(), store) : kind(zero, store);
}

static void Kernel(const Operands& operands, int j0, int j1) {
  // A copy the stores into C cannot alias: with the caller's reference, the compiler reloaded
  // its fields after every store of C.
  const Operands o = operands;
  ByKind(o, [&](auto s, auto f) HWY_ATTR {
    constexpr Start kS = decltype(s)::value;
    constexpr Finish kF = decltype(f)::value;
    // a_row = 1: the products over A^T (the weight gradients).
    constexpr bool kMayHaveUnitRows = kS != Start::bias;
    if (kMayHaveUnitRows && o.a_row == 1) KernelOf<kS, kF, kMayHaveUnitRows>(o, j0, j1);
    else KernelOf<kS, kF, false>(o, j0, j1);
  });
}

// (One row stores its tile once, after every term: no copy of the operands needed.)
static void SparseRow(const Operands& o, const int* ks, int nk, int j0, int j1) {
  ByKind(o, [&](auto s, auto f) HWY_ATTR { SparseRowOf<decltype(s)::value, decltype(f)::value>(o, ks, nk, j0, j1); });
}

// dst = src^T for rows [r0, r1) of src (rows x cols, row-major with stride lds; dst cols x rows,
// stride ldd). Whole L x L blocks in registers: log2(L) rounds of ConcatEven/ConcatOdd over
// pairs of vectors each move one bit of the lane index into the vector index and one bit of the
// vector index into the lane index; with the rows loaded in bit-reversed order, after the last
// round vector bitrev(c) holds column c. The edges go element by element. Only moves values.
static void TransposeRows(const float* src, std::ptrdiff_t lds, int r0, int r1, int cols, float* dst,
                          std::ptrdiff_t ldd) {
  int r = r0;
#if HWY_TARGET != HWY_SCALAR && !HWY_HAVE_SCALABLE  // a vector's lanes known when compiling
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  constexpr int L = static_cast<int>(hn::MaxLanes(d));
  constexpr int kBits = L >= 16 ? 4 : L >= 8 ? 3 : L >= 4 ? 2 : 0;
  constexpr auto reversed = [](int x) {
    int y = 0;
    for (int b = 0; b < kBits; ++b) y |= ((x >> b) & 1) << (kBits - 1 - b);
    return y;
  };
  if constexpr (kBits > 0) {
    for (; r + L <= r1; r += L) {
      int c = 0;
      for (; c + L <= cols; c += L) {
        V v[L], w[L];
        HWY_UNROLL(16)
        for (int q = 0; q < L; ++q) v[q] = hn::LoadU(d, src + (r + reversed(q)) * lds + c);
        HWY_UNROLL(4)
        for (int round = 0; round < kBits; ++round) {
          HWY_UNROLL(8)
          for (int p = 0; p < L / 2; ++p) {
            w[2 * p] = hn::ConcatEven(d, v[p + L / 2], v[p]);
            w[2 * p + 1] = hn::ConcatOdd(d, v[p + L / 2], v[p]);
          }
          HWY_UNROLL(16)
          for (int q = 0; q < L; ++q) v[q] = w[q];
        }
        HWY_UNROLL(16)
        for (int q = 0; q < L; ++q) hn::StoreU(v[q], d, dst + (c + reversed(q)) * ldd + r);
      }
      for (; c < cols; ++c)
        for (int q = r; q < r + L; ++q) dst[c * ldd + q] = src[q * lds + c];
    }
  }
#endif
  for (; r < r1; ++r)
    for (int c = 0; c < cols; ++c) dst[c * ldd + r] = src[r * lds + c];
}

static int Lanes() { return static_cast<int>(hn::Lanes(hn::ScalableTag<float>())); }

// The k with a(0, k) != 0 of a one-row A, in order (SIMD where the row is contiguous).
static int NonzeroInputs(const Operands& o, int* ks) { return NonzeroTerms<1>(o, 0, ks); }

}  // namespace HWY_NAMESPACE
}  // namespace digitnet
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace digitnet {

HWY_EXPORT(Kernel);
HWY_EXPORT(SparseRow);
HWY_EXPORT(Lanes);
HWY_EXPORT(TransposeRows);
HWY_EXPORT(NonzeroInputs);

namespace {

using gemm_detail::kTermsSpare;
using gemm_detail::Operands;
using Index = std::ptrdiff_t;

std::atomic<bool> plain_kernels{false};
std::atomic<bool> zero_skipping{true};
std::atomic<int> abt_way{0};  // 0: by the rule; 1: C = A (B^T); 2: C^T = B A^T

// The plain loops: the same FMA sequence per element as the SIMD kernel.
template <class T>
void loops(int M, int N, int K, const T* A, Index a_row, Index a_col, const T* B, Index ldb, T* C, Index ldc,
           bool accumulate) {
  for (int i = 0; i < M; ++i) {
    T* c = C + i * ldc;
    if (!accumulate)
      for (int j = 0; j < N; ++j) c[j] = T(0);
    for (int k = 0; k < K; ++k) {
      const T a = A[i * a_row + k * a_col];
      const T* b = B + k * ldb;
      for (int j = 0; j < N; ++j) c[j] = std::fma(a, b[j], c[j]);
    }
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// std::fma is a slow library call without the FMA instruction; compile a copy that has it.
__attribute__((target_clones("arch=x86-64-v3", "default")))
#endif
void plain(const Operands& o) {
  if (o.bias) {
    for (int i = 0; i < o.M; ++i) std::copy(o.bias, o.bias + o.N, o.C + i * o.ldc);
    return loops(o.M, o.N, o.K, o.A, o.a_row, o.a_col, o.B, o.ldb, o.C, o.ldc, true);
  }
  if (!o.update) return loops(o.M, o.N, o.K, o.A, o.a_row, o.a_col, o.B, o.ldb, o.C, o.ldc, o.accumulate);
  thread_local std::vector<float> p;
  p.resize(static_cast<std::size_t>(o.M) * o.N);
  loops(o.M, o.N, o.K, o.A, o.a_row, o.a_col, o.B, o.ldb, p.data(), Index(o.N), false);
  for (int i = 0; i < o.M; ++i)
    for (int j = 0; j < o.N; ++j) {
      float& c = o.C[i * o.ldc + j];
      c = std::fma(o.alpha, p[static_cast<std::size_t>(i) * o.N + j], c);
    }
}

// One row of C (one image): over the k where a(0, k) != 0 (SparseRow). Reading B (the
// weights) limits it, so a second core helps once the layer is large (kOneRowWork) and both get
// whole 4-vector tiles. Each core lists the nonzero inputs itself, so the second one starts at once.
void one_row(const Operands& o) {
  const auto columns = [&o](int j0, int j1) {
    thread_local std::vector<int> ks;
    ks.resize(o.K + kTermsSpare);
    int nk = o.K;
    if (o.sparse_a) nk = HWY_DYNAMIC_DISPATCH(NonzeroInputs)(o, ks.data());
    else std::iota(ks.begin(), ks.begin() + o.K, 0);
    HWY_DYNAMIC_DISPATCH(SparseRow)(o, ks.data(), nk, j0, j1);
  };
  const int grain = 4 * HWY_DYNAMIC_DISPATCH(Lanes)();
  const double work = double(o.K) * o.N;
  const int n = one_row_alone(o.M, work) ? 1 : cores_for(work, o.N / grain);
  if (n <= 1) return columns(0, o.N);
  run_parallel(n, [&](int t) {
    const auto [j0, j1] = block_share(o.N, grain, t, n);
    if (j0 < j1) columns(j0, j1);
  });
}

// Splits the product between cores where that pays (kernels/split.hpp): by columns on
// whole-tile boundaries (a layer's forward product), or by rows when there are too few
// columns (inference on many images).
void product(const Operands& operands) {
  if (plain_kernels.load(std::memory_order_relaxed)) return plain(operands);
  Operands o = operands;
  if (!zero_skipping.load(std::memory_order_relaxed)) o.sparse_a = false;
  if (o.M == 1) return one_row(o);
  const int n = cores_for(double(o.M) * o.N * o.K);
  if (n == 1) return HWY_DYNAMIC_DISPATCH(Kernel)(o, 0, o.N);
  // Whole 4-vector tiles per core where there are columns enough; else single vectors, when
  // there are also too few rows to split (a small batch through a narrow layer).
  const int lanes = HWY_DYNAMIC_DISPATCH(Lanes)();
  int grain = 4 * lanes;
  if ((o.N + grain - 1) / grain < n && o.M < 64 * n) grain = lanes;
  if ((o.N + grain - 1) / grain >= n) {
    run_parallel(n, [&](int t) {
      const auto [j0, j1] = block_share(o.N, grain, t, n);
      if (j0 < j1) HWY_DYNAMIC_DISPATCH(Kernel)(o, j0, j1);
    });
  } else if (o.M >= 64 * n) {
    run_parallel(n, [&](int t) {
      const int i0 = o.M * t / n, i1 = o.M * (t + 1) / n;  // rows [i0, i1) of A and C
      Operands part = o;
      part.M = i1 - i0;
      part.A = o.A + i0 * o.a_row;
      part.C = o.C + i0 * o.ldc;
      HWY_DYNAMIC_DISPATCH(Kernel)(part, 0, o.N);
    });
  } else {
    HWY_DYNAMIC_DISPATCH(Kernel)(o, 0, o.N);
  }
}

// dst = src^T (src: R x C, dst: C x R, both row-major with their strides): 32x32 tiles so reads
// and writes both stay in cache (float: blocks of a vector's lanes in registers,
// TransposeRows), rows of tiles split between threads when src is large.
template <class T>
void transpose(Matrix<const T> src, Matrix<T> dst) {
  constexpr int kTile = 32;
  const int row_tiles = (src.rows + kTile - 1) / kTile;
  const auto tiles = [&](int t0, int t1) {
    if constexpr (std::is_same_v<T, float>) {
      if (!plain_kernels.load(std::memory_order_relaxed))
        return HWY_DYNAMIC_DISPATCH(TransposeRows)(src.data, src.stride, t0 * kTile, std::min(src.rows, t1 * kTile),
                                                   src.cols, dst.data, dst.stride);
    }
    for (int r0 = t0 * kTile; r0 < std::min(src.rows, t1 * kTile); r0 += kTile)
      for (int c0 = 0; c0 < src.cols; c0 += kTile)
        for (int r = r0; r < std::min(src.rows, r0 + kTile); ++r) {
          const T* in = src.row(r);
          for (int c = c0; c < std::min(src.cols, c0 + kTile); ++c) dst(c, r) = in[c];
        }
  };
  run_shares(cores_for(double(src.size()) * cost::kTransposed, row_tiles), row_tiles, tiles);
}

// A rows x cols matrix in a buffer of this thread's (slot 0 or 1: two at once).
template <class T>
Matrix<T> scratch(int rows, int cols, int slot) {
  thread_local std::vector<T> buffers[2];
  std::vector<T>& s = buffers[slot];
  s.resize(static_cast<std::size_t>(rows) * cols);
  return {s.data(), rows, cols};
}

template <class T>
Matrix<T> transposed(Matrix<const T> M, int slot) {
  const Matrix<T> t = scratch<T>(M.cols, M.rows, slot);
  transpose(M, t);
  return t;
}

}  // namespace

template <>
void matmul_ab<float>(Matrix<const float> A, Matrix<const float> B, Matrix<float> C, bool accumulate) {
  product({C.rows, C.cols, A.cols, A.data, A.stride, 1, B.data, B.stride, C.data, C.stride, accumulate});
}
template <>
void matmul_atb<float>(Matrix<const float> A, Matrix<const float> B, Matrix<float> C, bool accumulate) {
  product({C.rows, C.cols, A.rows, A.data, 1, A.stride, B.data, B.stride, C.data, C.stride, accumulate});
}
// C = A B^T (A: M x K, B: N x K) in the A B form, one of two ways; both give every element of C
// the same FMAs in the same order (x*y = y*x exactly), so the choice never changes a bit:
//   1. C = A (B^T), B transposed first. Where A is a dZ, its zeros (inactive units) are skipped.
//   2. C^T = B A^T, A transposed first, then C^T transposed into C: B is not copied, so this
//      pays when B (the weights) is much the larger, and C has rows enough to fill a vector
//      (they are C^T's columns: with fewer, most lanes of every FMA would be idle).
// The second way is taken when B is larger than A and C together and C has a vector's rows:
// `build/gemm_bench --abt` times both at the seed network's and the presets' shapes
// (docs/performance.md). (Until 2026-12-07 the second way stored C's elements one by one into
// their places, and was taken at any number of rows: 2.5-4x slower than the first way with one
// to eight rows on AVX-512, and 1.2-2x slower than it is now with more.)
int abt_way_for(int M, int N, int K) {
  if (const int way = abt_way.load(std::memory_order_relaxed)) return way;
  const double a = double(M) * K, b = double(N) * K, c = double(M) * N;
  return M >= HWY_DYNAMIC_DISPATCH(Lanes)() && b > a + c ? 2 : 1;
}

template <>
void matmul_abt<float>(Matrix<const float> A, Matrix<const float> B, Matrix<float> C, bool accumulate) {
  if (!accumulate && abt_way_for(C.rows, C.cols, A.cols) == 2) {
    const Matrix<float> At = transposed(A, 0), Ct = scratch<float>(C.cols, C.rows, 1);  // (K x M), (N x M)
    Operands o{Ct.rows, Ct.cols, A.cols, B.data, B.stride, 1, At.data, At.stride, Ct.data, Ct.stride, false};
    o.sparse_a = false;  // B: the weights
    product(o);
    return transpose(Matrix<const float>(Ct), C);
  }
  const Matrix<float> Bt = transposed(B, 0);  // (K x N)
  product({C.rows, C.cols, A.cols, A.data, A.stride, 1, Bt.data, Bt.stride, C.data, C.stride, accumulate});
}

template <>
void matmul_ab<double>(Matrix<const double> A, Matrix<const double> B, Matrix<double> C, bool accumulate) {
  loops(C.rows, C.cols, A.cols, A.data, A.stride, 1, B.data, B.stride, C.data, C.stride, accumulate);
}
template <>
void matmul_atb<double>(Matrix<const double> A, Matrix<const double> B, Matrix<double> C, bool accumulate) {
  loops(C.rows, C.cols, A.rows, A.data, 1, A.stride, B.data, B.stride, C.data, C.stride, accumulate);
}
template <>
void matmul_abt<double>(Matrix<const double> A, Matrix<const double> B, Matrix<double> C, bool accumulate) {
  const Matrix<double> Bt = transposed(B, 0);  // (K x N)
  loops(C.rows, C.cols, A.cols, A.data, A.stride, 1, Bt.data, Bt.stride, C.data, C.stride, accumulate);
}

void matmul_ab_bias(Matrix<const float> A, Matrix<const float> B, const float* b, Matrix<float> C) {
  Operands o{C.rows, C.cols, A.cols, A.data, A.stride, 1, B.data, B.stride, C.data, C.stride, false};
  o.bias = b;
  product(o);
}

void matmul_ab_bias(Matrix<const double> A, Matrix<const double> B, const double* b, Matrix<double> C) {
  for (int i = 0; i < C.rows; ++i) std::copy(b, b + C.cols, C.row(i));
  matmul_ab<double>(A, B, C, /*accumulate=*/true);
}

void matmul_atb_update(Matrix<const float> A, Matrix<const float> B, Matrix<float> C, float alpha) {
  product({C.rows, C.cols, A.rows, A.data, 1, A.stride, B.data, B.stride, C.data, C.stride, false, true, alpha});
}

void matmul_atb_update(Matrix<const double> A, Matrix<const double> B, Matrix<double> C, double alpha) {
  Tensor<double> p(C.rows, C.cols);
  matmul_atb<double>(A, B, p.view());
  for (int i = 0; i < C.rows; ++i)
    for (int j = 0; j < C.cols; ++j) C(i, j) = std::fma(alpha, p(i, j), C(i, j));
}

void use_plain_kernels(bool plain) { plain_kernels.store(plain); }
void use_zero_skipping(bool skip) { zero_skipping.store(skip); }
void use_abt_way(int way) { abt_way.store(way); }

std::vector<std::pair<std::int64_t, std::string>> simd_targets() {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (std::int64_t t : hwy::SupportedAndGeneratedTargets()) out.emplace_back(t, hwy::TargetName(t));
  return out;
}

void force_simd_target(std::int64_t target) { hwy::SetSupportedTargetsForTest(target); }

std::string simd_target() {
  if (plain_kernels.load()) return "plain";
  const auto targets = hwy::SupportedAndGeneratedTargets();
  return targets.empty() ? "none" : hwy::TargetName(targets.front());
}

}  // namespace digitnet
#endif  // HWY_ONCE
