#include "digitnet/train/sgd.hpp"

#include <cmath>

#include "kernels/vector_ops.hpp"

namespace digitnet {

template <>
void sgd_step<float>(Dense<float>& layer, float lr) {
  axpy(layer.Wt.size(), -lr, layer.dWt.data(), layer.Wt.data());  // W -= lr dW
  axpy(layer.b.size(), -lr, layer.db.data(), layer.b.data());     // b -= lr db
}

template <>
void sgd_step<double>(Dense<double>& layer, double lr) {
  // one rounding per update, as the float kernel's fused multiply-add
  for (std::size_t i = 0; i < layer.Wt.size(); ++i) layer.Wt.storage[i] = std::fma(-lr, layer.dWt.storage[i], layer.Wt.storage[i]);
  for (std::size_t i = 0; i < layer.b.size(); ++i) layer.b.storage[i] = std::fma(-lr, layer.db.storage[i], layer.b.storage[i]);
}

}  // namespace digitnet
