#pragma once
// A fully-connected layer, Z = X W^T + b (docs/math.md, "Dense layer").
// W is (fan_out, fan_in) as in PyTorch, the seeds and the model file; the layer keeps
// its transpose Wt = W^T (fan_in, fan_out), so that every product below reads
// contiguous rows and is computed the same way by the SIMD and the plain code:
//   forward   Z   = X Wt + b       (B, in) (in, out)       -> (B, out)
//   backward  dWt = X^T dZ         (B, in)^T (B, out)      -> (in, out)    [dW = dZ^T X]
//             db  = sum_b dZ                                -> (out)
//             dX  = dZ Wt^T = dZ W (B, out) (out, in)      -> (B, in)
#include <span>
#include <vector>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

template <class T>
struct Dense {
  Tensor<T> Wt;   // W^T, (in, out)
  Tensor<T> b;    // (1, out)
  Tensor<T> dWt;  // dLoss/dWt for the batch-mean loss, (in, out)
  Tensor<T> db;   // (1, out)

  Dense() = default;
  Dense(int in, int out) : Wt(in, out), b(1, out), dWt(in, out), db(1, out) {}
  int in() const { return Wt.rows; }
  int out() const { return Wt.cols; }

  // W and dW in PyTorch's (out, in) row-major layout, for files and tests.
  std::vector<T> W() const { return transposed(Wt); }
  std::vector<T> dW() const { return transposed(dWt); }
  void set_W(std::span<const T> w) {  // w: (out, in) row-major
    for (int o = 0; o < out(); ++o)
      for (int i = 0; i < in(); ++i) Wt(i, o) = w[static_cast<std::size_t>(o) * in() + i];
  }

 private:
  static std::vector<T> transposed(const Tensor<T>& t) {
    std::vector<T> out(t.size());
    for (int r = 0; r < t.rows; ++r)
      for (int c = 0; c < t.cols; ++c) out[static_cast<std::size_t>(c) * t.rows + r] = t(r, c);
    return out;
  }
};

// Z = X W^T + b.   X: (B, in)  Z: (B, out)
template <class T> void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z);

// Given dZ = dLoss/dZ (B, out): fills layer.dWt and layer.db (adds to them with
// accumulate, for a batch processed in chunks), and dX = dZ W (B, in) unless dX is
// empty (the first layer needs no dX).
template <class T>
void dense_backward(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX, bool accumulate = false);

// dense_backward then sgd_step (W -= lr dW, b -= lr db) in one pass over W, for plain SGD:
// the same bits, without writing dWt (left untouched) or reading it back.
template <class T>
void dense_backward_sgd(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX, T lr);

// The two halves of dense_backward, for a network that splits a batch's rows between cores
// for the per-example part and its columns for the sums over the batch:
//   dX = dZ W               one row per example
//   dWt = X^T dZ, db = sum_b dZ   (then W -= lr dW, b -= lr db for the _sgd form)
// Cores can share the sums out: the weight sums for the input units [i0, i1) (rows of dWt, so
// each core writes whole rows: a row split between cores put both cores' writes next to each
// other, and the cores' prefetchers then kept taking the lines from each other, measured 2x
// slower), the bias sums for the output units [j0, j1). -1 means to the end.
struct Units {
  int i0 = 0, i1 = -1;  // input units: rows of Wt and dWt
  int j0 = 0, j1 = -1;  // output units: entries of b and db
};
template <class T> void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX);
template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate = false,
                            Units share = {});
template <class T>
void dense_backward_weights_sgd(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, T lr, Units share = {});

}  // namespace digitnet
