#pragma once
// A fully-connected layer, Z = X W^T + b, with W shaped (fan_out, fan_in) as in
// PyTorch and the seeds. Forward and backward sit side by side (docs/math.md, "Dense layer").
#include "digitnet/matrix.hpp"

namespace digitnet {

template <class T>
struct Dense {
  Tensor<T> W;   // (out, in)
  Tensor<T> b;   // (1, out)
  Tensor<T> dW;  // gradient of the batch-mean loss, same shape as W
  Tensor<T> db;

  Dense() = default;
  Dense(int in, int out) : W(out, in), b(1, out), dW(out, in), db(1, out) {}
  int in() const { return W.cols; }
  int out() const { return W.rows; }
};

// Z = X W^T + b.   X: (B, in)  Z: (B, out)
template <class T> void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z);

// Given dZ = dLoss/dZ (B, out):  dW = dZ^T X,  db = column sums of dZ,
// and dX = dZ W (B, in) unless dX is empty (the first layer needs no dX).
template <class T>
void dense_backward(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX);

}  // namespace digitnet
