#pragma once
// The int8 inference products (the --quantize int8 path; train/quantize.hpp builds on them).
//
// A layer's weights are int8, one scale per output unit (per-channel, symmetric); its input
// rows are uint8 with one scale and zero point per row (each row quantized on its own, at run
// time, from its own range). The products are sums of integer products in int32, so they are
// exact: any order, SIMD width, tile or thread gives the same integers, and the float step
// after it is one fused multiply-add per element, as the plain reference does it:
//   Z[i, j] = fma(float(sum_k A[i, k] q[k, j] - zp[i] colsum[j]), rs[i] * scale[j], bias[j])
// Kernels: AVX-512 VNNI (vpdpbusd, 4 products a lane per instruction) where the CPU has it;
// elsewhere Highway's widening multiply-add of int16 pairs, on every target it compiles.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

// One layer's weights as int8.
struct QuantizedLayer {
  int K = 0, N = 0;                  // inputs, outputs
  int Kp = 0, Np = 0;                // K rounded up to a multiple of 4, N to a multiple of 16
  std::vector<std::int8_t> q;        // (K, N) row-major, in [-127, 127]
  std::vector<float> scale, bias;    // Np each, zero past N
  std::vector<std::int32_t> colsum;  // Np: sum over k of q[k, j]
  // Packed for the kernel in use (pack() after changing q, or the kernel choice).
  int group = 0;                      // 4: VNNI quads; 2: int16 pairs
  AlignedVector<std::int8_t> quads;   // [Kp / 4][Np][4]
  AlignedVector<std::int16_t> pairs;  // [Kp / 2][Np][2]

  // From float weights Wt (K, N) and bias (N): per-output scale max|w| / 127, q = round(w / scale).
  static QuantizedLayer from_float(Matrix<const float> Wt, const float* bias);
  void pack();
};

// Z (M rows of Np floats, ldz apart) from A (M rows of Kp bytes, lda apart, zero past K), the
// rows' zero points zp and scales rs. Bit-identical to qgemm_reference.
void qgemm(const std::uint8_t* A, std::ptrdiff_t lda, int M, const std::int32_t* zp, const float* rs,
           const QuantizedLayer& W, float* Z, std::ptrdiff_t ldz);
void qgemm_reference(const std::uint8_t* A, std::ptrdiff_t lda, int M, const std::int32_t* zp, const float* rs,
                     const QuantizedLayer& W, float* Z, std::ptrdiff_t ldz);

// Each of M rows of n floats X to uint8 Q (width bytes a row; zero past n): the row's range,
// widened to contain [lo, hi], in 255 steps: scale = (max - min) / 255, zp = round(-min /
// scale), q = clamp(round(x / scale) + zp, 0, 255) (x / scale as x * (1 / scale); rounding half
// to even). Bit-identical to quantize_rows_reference.
void quantize_rows(const float* X, std::ptrdiff_t ldx, int M, int n, float lo, float hi, std::uint8_t* Q,
                   std::ptrdiff_t ldq, int width, float* scale, std::int32_t* zp);
void quantize_rows_reference(const float* X, std::ptrdiff_t ldx, int M, int n, float lo, float hi, std::uint8_t* Q,
                             std::ptrdiff_t ldq, int width, float* scale, std::int32_t* zp);

// Whether the AVX-512 VNNI kernel runs (the CPU has it and use_vnni has not turned it off).
bool vnni_in_use();
void use_vnni(bool on);  // tests: off runs the Highway kernels (layers must be packed again)
// The kernel in use: "VNNI", or the Highway target's name.
const char* int8_kernel_name();

}  // namespace digitnet
