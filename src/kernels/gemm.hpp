#pragma once
// The matrix products of the dense layers (dense.hpp says which is which), row-major;
// C is overwritten, or added to with accumulate = true.
//   matmul_ab   C = A B      (M x K) (K x N)
//   matmul_atb  C = A^T B    (K x M)^T (K x N)
//   matmul_abt  C = A B^T    (M x K) (N x K)^T
// Each element is the sum over k, in order, of one fused multiply-add per term. float
// runs SIMD kernels picked at run time and split between threads (parallel.hpp); the
// result is bit-identical to the plain loops, for any thread count, on CPUs with FMA.
// (Terms whose a(i, k) is zero are skipped, see use_zero_skipping: they add exactly nothing
// to finite sums, so only the sign of a sum that is exactly zero can differ.)
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

template <class T>
void matmul_ab(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);
template <class T>
void matmul_atb(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);
template <class T>
void matmul_abt(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);

// C = b + A B with the row vector b (N) added to every row: the forward product of a layer.
// Each element starts at b[j] and adds its terms, as matmul_ab onto a C filled with b does.
void matmul_ab_bias(Matrix<const float> A, Matrix<const float> B, const float* b, Matrix<float> C);
void matmul_ab_bias(Matrix<const double> A, Matrix<const double> B, const double* b, Matrix<double> C);

// C += alpha * A^T B without storing A^T B: the SGD step fused into the weight gradient,
// so each core updates the part of W it computed (same bits as the product, then axpy).
void matmul_atb_update(Matrix<const float> A, Matrix<const float> B, Matrix<float> C, float alpha);
void matmul_atb_update(Matrix<const double> A, Matrix<const double> B, Matrix<double> C, double alpha);

// Use the plain loops instead of the SIMD kernels for float (for checking; slower).
void use_plain_kernels(bool plain);
// The SIMD kernels leave out terms whose input a(i, k) is zero (for every row of a register
// tile): inputs and ReLU outputs are often zero, and such a term adds exactly nothing. Off,
// they compute every term, as a dense product does (for measuring; same values either way).
void use_zero_skipping(bool skip);
// How matmul_abt<float> turns C = A B^T into the A B form (gemm.cpp): 1 as C = A (B^T), 2 as
// C^T = B A^T (where C is overwritten, not added to). abt_way_for says which one a product of
// C: M x N over K takes; use_abt_way(1 or 2) forces one, 0 goes back to the rule (for
// measuring the rule; the values are the same every way).
int abt_way_for(int M, int N, int K);
void use_abt_way(int way);

// SIMD targets compiled in and supported by this CPU, best first ("AVX3", "AVX2", "SSE4", ...).
std::vector<std::pair<std::int64_t, std::string>> simd_targets();
std::string simd_target();  // the one in use, or "plain"
// Tests only: restrict run-time dispatch to one target from simd_targets().
void force_simd_target(std::int64_t target);

}  // namespace digitnet
