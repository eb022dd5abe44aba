#include "digitnet/sgd.hpp"

namespace digitnet {

template <class T>
void sgd_step(Dense<T>& layer, T lr) {
  for (std::size_t i = 0; i < layer.W.size(); ++i) layer.W.storage[i] -= lr * layer.dW.storage[i];
  for (std::size_t i = 0; i < layer.b.size(); ++i) layer.b.storage[i] -= lr * layer.db.storage[i];
}

template void sgd_step<float>(Dense<float>&, float);
template void sgd_step<double>(Dense<double>&, double);

}  // namespace digitnet
