#pragma once
// Plain gradient descent: W <- W - lr dW, b <- b - lr db (docs/math.md, "Update").
#include "digitnet/nn/dense.hpp"

namespace digitnet {

template <class T> void sgd_step(Dense<T>& layer, T lr);

}  // namespace digitnet
