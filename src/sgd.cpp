#include "digitnet/sgd.hpp"

#include "digitnet/vector_ops.hpp"

namespace digitnet {

template <>
void sgd_step<float>(Dense<float>& layer, float lr) {
  axpy(layer.Wt.size(), -lr, layer.dWt.data(), layer.Wt.data());  // W -= lr dW
  axpy(layer.b.size(), -lr, layer.db.data(), layer.b.data());     // b -= lr db
}

template <>
void sgd_step<double>(Dense<double>& layer, double lr) {
  for (std::size_t i = 0; i < layer.Wt.size(); ++i) layer.Wt.storage[i] -= lr * layer.dWt.storage[i];
  for (std::size_t i = 0; i < layer.b.size(); ++i) layer.b.storage[i] -= lr * layer.db.storage[i];
}

}  // namespace digitnet
