#pragma once
// Output layer + loss, each with its backward pass (docs/math.md, "Losses").
// Both losses are the mean over the batch, so dZ carries a 1/B factor and the
// learning rate means what it means in PyTorch.
//   ce:  P = softmax(Z),  L = mean_b -log P[b, y_b],           dZ = (P - Y) / B
//   mse: A = sigmoid(Z),  L = mean_b sum_c (A - Y)^2,           dZ = 2 (A - Y) A (1 - A) / B
// Y is the one-hot matrix of the labels; with label smoothing s (ce only, as PyTorch's
// CrossEntropyLoss(label_smoothing=s)) it is (1 - s) one-hot + s / classes.
#include <span>
#include <string>
#include <string_view>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

enum class Loss { cross_entropy, mse };

Loss parse_loss(std::string_view name);  // "ce" or "mse"
std::string to_string(Loss l);

// Writes the output activation (softmax or sigmoid) of Z into out; returns the mean loss.
template <class T>
T loss_forward(Loss loss, Matrix<const T> Z, std::span<const int> labels, Matrix<T> out, T smoothing = 0);
// dZ = dL/dZ for the batch-mean loss, from the output written by loss_forward.
// `batch` is the size of the whole batch these rows belong to (out.rows unless the batch
// is processed in chunks).
template <class T>
void loss_backward(Loss loss, Matrix<const T> out, std::span<const int> labels, Matrix<T> dZ, int batch,
                   T smoothing = 0);

// The output activation alone, for inference.
template <class T>
void output_forward(Loss loss, Matrix<const T> Z, Matrix<T> out);

}  // namespace digitnet
