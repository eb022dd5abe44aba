#pragma once
// Batch normalization of a hidden layer's product, before its activation (docs/math.md,
// "Batch normalization"), as PyTorch's BatchNorm1d:
//   training    mean_j = (1/n) sum_r Z[r, j]      var_j = (1/n) sum_r (Z[r, j] - mean_j)^2
//               Zhat = (Z - mean) / sqrt(var + eps)     Y = gamma Zhat + beta
//               running_mean <- (1 - m) running_mean + m mean,
//               running_var  <- (1 - m) running_var + m var n / (n - 1)   (unbiased)
//   backward    dbeta = sum_r dY    dgamma = sum_r dY Zhat
//               dZ = gamma / sqrt(var + eps) (dY - dbeta / n - Zhat dgamma / n)
//   inference   the running statistics, folded into the layer: W' = s W, b' = s (b - mean) + beta,
//               s = gamma / sqrt(running_var + eps)
// The statistics are those of the rows one training step computes: the whole batch up to 256
// rows (then exactly PyTorch's), or each share of it a chunk, process or micro-batch takes.
#include <span>

#include "digitnet/core/matrix.hpp"
#include "digitnet/nn/dense.hpp"

namespace digitnet {

constexpr double kBatchNormEps = 1e-5;
constexpr double kBatchNormMomentum = 0.1;

// Z (n, out) becomes Y in place; Zhat and inv_std (out) keep what the backward pass needs. The
// step's statistics are added (accumulate) or written to the layer's batch_mean and batch_var:
// n times the mean, n times the unbiased variance, per unit.
template <class T>
void batch_norm_forward(const Dense<T>& layer, Matrix<T> Z, Matrix<T> Zhat, std::span<T> inv_std, bool accumulate);
// dY (n, out) becomes dZ in place; dgamma and dbeta into the layer's gradients (added with
// accumulate).
template <class T>
void batch_norm_backward(const Dense<T>& layer, Matrix<T> dY, Matrix<const T> Zhat, std::span<const T> inv_std,
                         bool accumulate);
// The running statistics, moved toward the step's: batch_mean and batch_var hold the sums over
// the step's shares of rows times their statistics, `rows` the rows they add up to.
template <class T>
void batch_norm_update(const Dense<T>& layer, double rows, double momentum = kBatchNormMomentum);
// The layer's weights with its normalization folded in (inference): into `out`, a layer of the
// same sizes without one.
template <class T>
void batch_norm_fold(const Dense<T>& layer, const Dense<T>& out);

}  // namespace digitnet
