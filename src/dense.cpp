#include "digitnet/dense.hpp"

#include "digitnet/gemm.hpp"

namespace digitnet {

template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z) {
  matmul_abt<T>(X, layer.W.view(), Z);  // Z = X W^T
  const T* b = layer.b.data();
  for (int i = 0; i < Z.rows; ++i) {
    T* z = Z.row(i);
    for (int j = 0; j < Z.cols; ++j) z[j] += b[j];  // + b, broadcast over the batch
  }
}

template <class T>
void dense_backward(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX) {
  matmul_atb<T>(dZ, X, layer.dW.view());  // dW = dZ^T X     (out, in)
  T* db = layer.db.data();                // db = sum over the batch of dZ
  for (int j = 0; j < dZ.cols; ++j) db[j] = T(0);
  for (int i = 0; i < dZ.rows; ++i) {
    const T* dz = dZ.row(i);
    for (int j = 0; j < dZ.cols; ++j) db[j] += dz[j];
  }
  if (!dX.empty()) matmul_ab<T>(dZ, layer.W.view(), dX);  // dX = dZ W  (B, in)
}

template void dense_forward<float>(const Dense<float>&, Matrix<const float>, Matrix<float>);
template void dense_forward<double>(const Dense<double>&, Matrix<const double>, Matrix<double>);
template void dense_backward<float>(Dense<float>&, Matrix<const float>, Matrix<const float>, Matrix<float>);
template void dense_backward<double>(Dense<double>&, Matrix<const double>, Matrix<const double>, Matrix<double>);

}  // namespace digitnet
