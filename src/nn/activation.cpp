#include "digitnet/nn/activation.hpp"

#include <cmath>
#include <type_traits>

#include "digitnet/core/error.hpp"
#include "kernels/vector_ops.hpp"

namespace digitnet {

Activation parse_activation(std::string_view name) {
  if (name == "relu") return Activation::relu;
  if (name == "sigmoid") return Activation::sigmoid;
  if (name == "tanh") return Activation::tanh;
  throw SettingError("activation", "'" + std::string(name) + "' is not one of relu, sigmoid or tanh");
}

std::string to_string(Activation a) {
  switch (a) {
    case Activation::relu: return "relu";
    case Activation::sigmoid: return "sigmoid";
    case Activation::tanh: return "tanh";
  }
  return "?";
}

template <class T>
T sigmoid(T z) {
  // Two branches so exp never overflows.
  if (z >= 0) return T(1) / (T(1) + std::exp(-z));
  const T e = std::exp(z);
  return e / (T(1) + e);
}

template <class T>
void activation_forward(Activation f, Matrix<const T> Z, Matrix<T> A) {
  if constexpr (std::is_same_v<T, float>) {
    if (f == Activation::relu && Z.stride == Z.cols && A.stride == A.cols)
      return relu_forward(Z.size(), Z.data, A.data);  // SIMD; same values as the loop below
  }
  for (int i = 0; i < Z.rows; ++i) {
    const T* z = Z.row(i);
    T* a = A.row(i);
    switch (f) {
      case Activation::relu:
        for (int j = 0; j < Z.cols; ++j) a[j] = z[j] > T(0) ? z[j] : T(0);
        break;
      case Activation::sigmoid:
        for (int j = 0; j < Z.cols; ++j) a[j] = sigmoid(z[j]);
        break;
      case Activation::tanh:
        for (int j = 0; j < Z.cols; ++j) a[j] = std::tanh(z[j]);
        break;
    }
  }
}

template <class T>
void activation_backward(Activation f, Matrix<const T> Z, Matrix<const T> A, Matrix<const T> dA, Matrix<T> dZ) {
  if constexpr (std::is_same_v<T, float>) {
    if (f == Activation::relu && Z.stride == Z.cols && dA.stride == dA.cols && dZ.stride == dZ.cols)
      return relu_backward(Z.size(), Z.data, dA.data, dZ.data);  // SIMD; same values as the loop below
  }
  for (int i = 0; i < dA.rows; ++i) {
    const T* z = Z.row(i);
    const T* a = A.row(i);
    const T* da = dA.row(i);
    T* dz = dZ.row(i);
    switch (f) {
      case Activation::relu:  // dZ = dA * [Z > 0]
        for (int j = 0; j < dA.cols; ++j) dz[j] = z[j] > T(0) ? da[j] : T(0);
        break;
      case Activation::sigmoid:  // dZ = dA * A (1 - A)
        for (int j = 0; j < dA.cols; ++j) dz[j] = da[j] * a[j] * (T(1) - a[j]);
        break;
      case Activation::tanh:  // dZ = dA * (1 - A^2)
        for (int j = 0; j < dA.cols; ++j) dz[j] = da[j] * (T(1) - a[j] * a[j]);
        break;
    }
  }
}

template float sigmoid<float>(float);
template double sigmoid<double>(double);
template void activation_forward<float>(Activation, Matrix<const float>, Matrix<float>);
template void activation_forward<double>(Activation, Matrix<const double>, Matrix<double>);
template void activation_backward<float>(Activation, Matrix<const float>, Matrix<const float>, Matrix<const float>,
                                         Matrix<float>);
template void activation_backward<double>(Activation, Matrix<const double>, Matrix<const double>, Matrix<const double>,
                                          Matrix<double>);

}  // namespace digitnet
