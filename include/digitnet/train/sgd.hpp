#pragma once
// Plain gradient descent (docs/math.md §6): W <- W - lr dW, b <- b - lr db.
#include "digitnet/core/matrix.hpp"
#include "digitnet/nn/dense.hpp"

namespace digitnet {

// The step from the gradients a backward pass stored in dWt and db: the definition.
template <class T>
void sgd_step(Dense<T>& layer, T lr);

// The same step taken inside the backward pass (a Network::WeightSums): for the input units
// units.i0 .. i1, W^T -= lr X^T dZ without storing the gradient or reading it back; for the
// output units j0 .. j1, b -= lr sum_b dZ. Equal to the backward pass then sgd_step, bit for bit.
template <class T>
void sgd_step_fused(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, T lr, Units units);

// sgd_step_fused as a Network::WeightSums: net.train_step(X, labels, B, FusedSgd<float>{lr}).
template <class T>
struct FusedSgd {
  T lr;
  void operator()(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Units units) const {
    sgd_step_fused(layer, X, dZ, lr, units);
  }
};

}  // namespace digitnet
