#pragma once
// A fully-connected layer, Z = X W^T + b (docs/math.md §2).
// W is (fan_out, fan_in) as in PyTorch, the seeds and the model file; the layer keeps its
// transpose Wt = W^T (fan_in, fan_out), so that every product reads contiguous rows:
//   forward   Z   = X Wt + b       (B, in) (in, out)       -> (B, out)
//   backward  dWt = X^T dZ         (B, in)^T (B, out)      -> (in, out)    [dW = dZ^T X]
//             db  = sum_b dZ                                -> (out)
//             dX  = dZ Wt^T = dZ W (B, out) (out, in)      -> (B, in)
// Each function below has a plain reference beside it (the _reference ones: the definition,
// in loops); the fast ones run the kernels and give the same values bit for bit.
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

// A share of a layer's units, for work split between cores: input units [i0, i1) (rows of
// Wt and dWt) and output units [j0, j1) (columns of Z, entries of b and db); -1: to the end.
struct Units {
  int i0 = 0, i1 = -1;
  int j0 = 0, j1 = -1;
};

// Z = X W^T + b, the columns of units.j0 .. j1.   X: (B, in)  Z: (B, out)
template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z, Units units = {});
// dX = dZ W.   dZ: (B, out)  dX: (B, in)
template <class T>
void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX);
// dWt = X^T dZ for the input units i0 .. i1, db = sum_b dZ for the output units j0 .. j1
// (added to dWt and db with accumulate: a batch in chunks).
template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate = false,
                            Units units = {});

// The definitions, as plain loops: each sum over its terms in order, one fused multiply-add
// per term (db: one addition per term), which is what the kernels compute.
template <class T>
void dense_forward_reference(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z);
// dWt, db and (unless dX is empty) dX of the batch.
template <class T>
void dense_backward_reference(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX);

}  // namespace digitnet
