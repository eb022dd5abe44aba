#include "digitnet/nn/dense.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/gemm.hpp"

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

// A share's bounds with -1 made concrete.
Units concrete(Units u, int in, int out) {
  if (u.i1 < 0) u.i1 = in;
  if (u.j1 < 0) u.j1 = out;
  return u;
}

}  // namespace

template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z) {
  matmul_ab_bias(X, Matrix<const T>(layer.Wt.view()), layer.b.data(), Z);  // Z = b + X W^T
}

template <class T>
void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX) {
  matmul_abt<T>(dZ, layer.Wt.view(), dX);  // dX = dZ Wt^T = dZ W   (B, in)
}

template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate, Units share) {
  const Units u = concrete(share, layer.in(), layer.out());
  const int rows = u.i1 - u.i0;
  if (rows > 0)  // dWt = X^T dZ, rows [i0, i1): (X's columns i0..i1)^T dZ   (rows, out)
    matmul_atb<T>(X.cols_view(u.i0, rows), dZ, layer.dWt.view().rows_view(u.i0, rows), accumulate);
  if (u.j1 > u.j0) column_sums(dZ.cols_view(u.j0, u.j1 - u.j0), layer.db.data() + u.j0, accumulate);  // db = sum_b dZ
}

template <class T>
void dense_backward_weights_sgd(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, T lr, Units share) {
  const Units u = concrete(share, layer.in(), layer.out());
  if (u.j1 > u.j0) {
    column_sums(dZ.cols_view(u.j0, u.j1 - u.j0), layer.db.data() + u.j0, false);
    T* b = layer.b.data();
    for (int j = u.j0; j < u.j1; ++j) b[j] = std::fma(-lr, layer.db.data()[j], b[j]);  // b -= lr db
  }
  const int rows = u.i1 - u.i0;
  if (rows > 0)  // Wt -= lr X^T dZ
    matmul_atb_update(X.cols_view(u.i0, rows), dZ, layer.Wt.view().rows_view(u.i0, rows), -lr);
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
template void dense_backward_weights<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, bool, Units);
template void dense_backward_weights<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, bool,
                                             Units);
template void dense_backward_weights_sgd<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, float,
                                                Units);
template void dense_backward_weights_sgd<double>(Dense<double>&, Matrix<const double>, Matrix<const double>,
                                                 double, Units);
template void dense_backward_sgd<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, Matrix<float>, float);
template void dense_backward_sgd<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, Matrix<double>,
                                         double);

}  // namespace digitnet
