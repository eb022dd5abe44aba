#include "digitnet/dense.hpp"

#include <algorithm>
#include <cmath>

#include "digitnet/gemm.hpp"

namespace digitnet {
namespace {

// db = sum over the batch of dZ (added to db with accumulate)
template <class T>
void column_sums(Matrix<const T> dZ, T* db, bool accumulate) {
  if (!accumulate) std::fill(db, db + dZ.cols, T(0));
  for (int i = 0; i < dZ.rows; ++i) {
    const T* dz = dZ.row(i);
    for (int j = 0; j < dZ.cols; ++j) db[j] += dz[j];
  }
}

}  // namespace

template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z) {
  for (int i = 0; i < Z.rows; ++i)  // start every row at b, then add X Wt onto it
    std::copy(layer.b.data(), layer.b.data() + Z.cols, Z.row(i));
  matmul_ab<T>(X, layer.Wt.view(), Z, /*accumulate=*/true);  // Z = b + X W^T
}

template <class T>
void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX) {
  matmul_abt<T>(dZ, layer.Wt.view(), dX);  // dX = dZ Wt^T = dZ W   (B, in)
}

template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate, int j0, int j1) {
  if (j1 < 0) j1 = layer.out();
  const Matrix<const T> dz = dZ.cols_view(j0, j1 - j0);            // (B, units)
  matmul_atb<T>(X, dz, layer.dWt.view().cols_view(j0, j1 - j0), accumulate);  // dWt = X^T dZ   (in, units)
  column_sums(dz, layer.db.data() + j0, accumulate);                // db = sum_b dZ
}

template <class T>
void dense_backward_weights_sgd(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, T lr, int j0, int j1) {
  if (j1 < 0) j1 = layer.out();
  const Matrix<const T> dz = dZ.cols_view(j0, j1 - j0);
  column_sums(dz, layer.db.data() + j0, false);
  T* b = layer.b.data();
  for (int j = j0; j < j1; ++j) b[j] = std::fma(-lr, layer.db.data()[j], b[j]);  // b -= lr db
  matmul_atb_update(X, dz, layer.Wt.view().cols_view(j0, j1 - j0), -lr);         // Wt -= lr X^T dZ
}

template <class T>
void dense_backward(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX, bool accumulate) {
  dense_backward_weights(layer, X, dZ, accumulate);
  if (!dX.empty()) dense_backward_input(layer, dZ, dX);
}

template <class T>
void dense_backward_sgd(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX, T lr) {
  if (!dX.empty()) dense_backward_input(layer, dZ, dX);  // with W before the step
  dense_backward_weights_sgd(layer, X, dZ, lr);
}

template void dense_forward<float>(const Dense<float>&, Matrix<const float>, Matrix<float>);
template void dense_forward<double>(const Dense<double>&, Matrix<const double>, Matrix<double>);
template void dense_backward<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, Matrix<float>, bool);
template void dense_backward<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, Matrix<double>, bool);
template void dense_backward_input<float>(const Dense<float>&, Matrix<const float>, Matrix<float>);
template void dense_backward_input<double>(const Dense<double>&, Matrix<const double>, Matrix<double>);
template void dense_backward_weights<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, bool, int, int);
template void dense_backward_weights<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, bool, int,
                                             int);
template void dense_backward_weights_sgd<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, float, int,
                                                int);
template void dense_backward_weights_sgd<double>(Dense<double>&, Matrix<const double>, Matrix<const double>,
                                                 double, int, int);
template void dense_backward_sgd<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, Matrix<float>, float);
template void dense_backward_sgd<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, Matrix<double>,
                                         double);

}  // namespace digitnet
