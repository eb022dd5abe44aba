// Matrix products for the dense layers (see gemm.hpp for which is which).
//
// One kernel serves all three: C[i,:] (+)= sum_k a(i,k) * B[k,:], where a(i,k) is
// read from A with a row step and a column step, so A or A^T costs nothing.
// The innermost loop runs along a contiguous row of B and C, which the compiler
// vectorises; four rows of C share each loaded row of B.
//
// Runtime dispatch: on x86-64 each entry point is compiled for AVX-512, AVX2+FMA
// and baseline SSE2, and the loader picks the best the CPU has. No -march=native.
#include "digitnet/gemm.hpp"

#include <cstddef>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DIGITNET_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DIGITNET_CLONES
#endif

namespace digitnet {
namespace {

using Index = std::ptrdiff_t;

template <class T>
[[gnu::always_inline]] inline void gemm_kernel(int M, int N, int K, const T* A, Index a_row, Index a_col,
                                               const T* B, Index ldb, T* C, Index ldc, bool accumulate) {
  int i = 0;
  for (; i + 4 <= M; i += 4) {
    T* __restrict c0 = C + (i + 0) * ldc;
    T* __restrict c1 = C + (i + 1) * ldc;
    T* __restrict c2 = C + (i + 2) * ldc;
    T* __restrict c3 = C + (i + 3) * ldc;
    if (!accumulate)
      for (int j = 0; j < N; ++j) c0[j] = c1[j] = c2[j] = c3[j] = T(0);
    for (int k = 0; k < K; ++k) {
      const T* __restrict b = B + k * ldb;
      const T a0 = A[(i + 0) * a_row + k * a_col];
      const T a1 = A[(i + 1) * a_row + k * a_col];
      const T a2 = A[(i + 2) * a_row + k * a_col];
      const T a3 = A[(i + 3) * a_row + k * a_col];
      for (int j = 0; j < N; ++j) {
        c0[j] += a0 * b[j];
        c1[j] += a1 * b[j];
        c2[j] += a2 * b[j];
        c3[j] += a3 * b[j];
      }
    }
  }
  for (; i < M; ++i) {
    T* __restrict c = C + i * ldc;
    if (!accumulate)
      for (int j = 0; j < N; ++j) c[j] = T(0);
    for (int k = 0; k < K; ++k) {
      const T* __restrict b = B + k * ldb;
      const T a = A[i * a_row + k * a_col];
      for (int j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

DIGITNET_CLONES void gemm(int M, int N, int K, const float* A, Index a_row, Index a_col, const float* B,
                          Index ldb, float* C, Index ldc, bool accumulate) {
  gemm_kernel(M, N, K, A, a_row, a_col, B, ldb, C, ldc, accumulate);
}
DIGITNET_CLONES void gemm(int M, int N, int K, const double* A, Index a_row, Index a_col, const double* B,
                          Index ldb, double* C, Index ldc, bool accumulate) {
  gemm_kernel(M, N, K, A, a_row, a_col, B, ldb, C, ldc, accumulate);
}

}  // namespace

template <class T>
void matmul_ab(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate) {
  // A: M x K, B: K x N, C: M x N
  gemm(C.rows, C.cols, A.cols, A.data, A.stride, 1, B.data, B.stride, C.data, C.stride, accumulate);
}

template <class T>
void matmul_atb(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate) {
  // A: K x M (read transposed), B: K x N, C: M x N
  gemm(C.rows, C.cols, A.rows, A.data, 1, A.stride, B.data, B.stride, C.data, C.stride, accumulate);
}

template <class T>
void matmul_abt(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate) {
  // A: M x K, B: N x K, C: M x N. B^T is copied once so the kernel reads rows;
  // the copy is N*K work against M*N*K for the product.
  thread_local std::vector<T> bt;
  bt.resize(static_cast<std::size_t>(B.rows) * B.cols);
  for (int n = 0; n < B.rows; ++n)
    for (int k = 0; k < B.cols; ++k) bt[static_cast<std::size_t>(k) * B.rows + n] = B(n, k);
  gemm(C.rows, C.cols, A.cols, A.data, A.stride, 1, bt.data(), B.rows, C.data, C.stride, accumulate);
}

template void matmul_ab<float>(Matrix<const float>, Matrix<const float>, Matrix<float>, bool);
template void matmul_ab<double>(Matrix<const double>, Matrix<const double>, Matrix<double>, bool);
template void matmul_atb<float>(Matrix<const float>, Matrix<const float>, Matrix<float>, bool);
template void matmul_atb<double>(Matrix<const double>, Matrix<const double>, Matrix<double>, bool);
template void matmul_abt<float>(Matrix<const float>, Matrix<const float>, Matrix<float>, bool);
template void matmul_abt<double>(Matrix<const double>, Matrix<const double>, Matrix<double>, bool);

}  // namespace digitnet
