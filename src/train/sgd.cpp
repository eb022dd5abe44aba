#include "digitnet/train/sgd.hpp"

#include <cmath>

#include "kernels/gemm.hpp"

namespace digitnet {

template <class T>
void sgd_step(Dense<T>& layer, T lr) {
  // one rounding per update: W + (-lr) dW as one fused multiply-add, as the fused step does
  const std::span<T> W = layer.Wt.values(), dW = layer.dWt.values(), b = layer.b.values(), db = layer.db.values();
  for (std::size_t i = 0; i < W.size(); ++i) W[i] = std::fma(-lr, dW[i], W[i]);  // W -= lr dW
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::fma(-lr, db[i], b[i]);  // b -= lr db
}

template <class T>
void sgd_step_fused(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, T lr, Units units) {
  const int i1 = units.i1 < 0 ? layer.in() : units.i1, j1 = units.j1 < 0 ? layer.out() : units.j1;
  if (j1 > units.j0) {
    // db as dense_backward_weights sums it, then b -= lr db
    dense_backward_weights(layer, X, dZ, false, {.i0 = 0, .i1 = 0, .j0 = units.j0, .j1 = j1});
    T* b = layer.b.data;
    for (int j = units.j0; j < j1; ++j) b[j] = std::fma(-lr, layer.db.data[j], b[j]);
  }
  const int rows = i1 - units.i0;
  if (rows > 0)  // W^T -= lr X^T dZ, rows i0 .. i1 of W^T
    matmul_atb_update(X.cols_view(units.i0, rows), dZ, layer.Wt.rows_view(units.i0, rows), -lr);
}

template void sgd_step<float>(Dense<float>&, float);
template void sgd_step<double>(Dense<double>&, double);
template void sgd_step_fused<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, float, Units);
template void sgd_step_fused<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, double, Units);

}  // namespace digitnet
