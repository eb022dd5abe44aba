#pragma once
// Hidden-layer activations A = f(Z), elementwise, and their backward passes
// dZ = dA * f'(Z) (docs/math.md, "Activations").
#include <string>
#include <string_view>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

enum class Activation { relu, sigmoid, tanh };

Activation parse_activation(std::string_view name);  // throws Error naming the value
std::string to_string(Activation a);

// A = f(Z); A may alias Z.
template <class T>
void activation_forward(Activation f, Matrix<const T> Z, Matrix<T> A);
// dZ = dA * f'(Z). f' is written in terms of A where that is cheaper:
// relu' = [Z > 0], sigmoid' = A (1 - A), tanh' = 1 - A^2. dZ may alias dA.
template <class T>
void activation_backward(Activation f, Matrix<const T> Z, Matrix<const T> A, Matrix<const T> dA, Matrix<T> dZ);

template <class T>
T sigmoid(T z);

}  // namespace digitnet
