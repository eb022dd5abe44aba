#include "digitnet/nn/batch_norm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace digitnet {

template <class T>
void batch_norm_forward(const Dense<T>& layer, Matrix<T> Z, Matrix<T> Zhat, std::span<T> inv_std, bool accumulate) {
  const int n = Z.rows, out = Z.cols;
  // Row by row (the rows are contiguous), each unit's sums in a fixed order: the same bits on
  // any number of cores.
  std::vector<T> mean(out, T(0)), var(out, T(0));
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < out; ++j) mean[j] += Z(r, j);
  for (int j = 0; j < out; ++j) mean[j] /= T(n);
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < out; ++j) {
      const T d = Z(r, j) - mean[j];
      var[j] += d * d;
    }
  for (int j = 0; j < out; ++j) {
    const T biased = var[j] / T(n);
    inv_std[j] = T(1) / std::sqrt(biased + T(kBatchNormEps));
    const T unbiased_n = n > 1 ? var[j] / T(n - 1) * T(n) : T(0);  // n times the unbiased variance
    T* bm = layer.batch_mean.data + j;
    T* bv = layer.batch_var.data + j;
    *bm = (accumulate ? *bm : T(0)) + mean[j] * T(n);
    *bv = (accumulate ? *bv : T(0)) + unbiased_n;
  }
  const T* gamma = layer.gamma.data;
  const T* beta = layer.beta.data;
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < out; ++j) {
      const T zhat = (Z(r, j) - mean[j]) * inv_std[j];
      Zhat(r, j) = zhat;
      Z(r, j) = gamma[j] * zhat + beta[j];
    }
}

template <class T>
void batch_norm_backward(const Dense<T>& layer, Matrix<T> dY, Matrix<const T> Zhat, std::span<const T> inv_std,
                         bool accumulate) {
  const int n = dY.rows, out = dY.cols;
  std::vector<T> sum_dy(out, T(0)), sum_dy_zhat(out, T(0));
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < out; ++j) {
      sum_dy[j] += dY(r, j);
      sum_dy_zhat[j] += dY(r, j) * Zhat(r, j);
    }
  T* dgamma = layer.dgamma.data;
  T* dbeta = layer.dbeta.data;
  for (int j = 0; j < out; ++j) {
    dgamma[j] = (accumulate ? dgamma[j] : T(0)) + sum_dy_zhat[j];
    dbeta[j] = (accumulate ? dbeta[j] : T(0)) + sum_dy[j];
  }
  const T* gamma = layer.gamma.data;
  for (int r = 0; r < n; ++r)
    for (int j = 0; j < out; ++j)
      dY(r, j) = gamma[j] * inv_std[j] * (dY(r, j) - sum_dy[j] / T(n) - Zhat(r, j) * sum_dy_zhat[j] / T(n));
}

template <class T>
void batch_norm_update(const Dense<T>& layer, double rows, double momentum) {
  const int out = layer.out();
  const T m = T(momentum), keep = T(1 - momentum), inv = T(1 / rows);
  for (int j = 0; j < out; ++j) {
    layer.running_mean.data[j] = keep * layer.running_mean.data[j] + m * (layer.batch_mean.data[j] * inv);
    layer.running_var.data[j] = keep * layer.running_var.data[j] + m * (layer.batch_var.data[j] * inv);
  }
}

template <class T>
void batch_norm_fold(const Dense<T>& layer, const Dense<T>& out) {
  for (int j = 0; j < layer.out(); ++j) {
    const T s = layer.gamma.data[j] / std::sqrt(layer.running_var.data[j] + T(kBatchNormEps));
    for (int i = 0; i < layer.in(); ++i) out.Wt(i, j) = s * layer.Wt(i, j);
    out.b.data[j] = s * (layer.b.data[j] - layer.running_mean.data[j]) + layer.beta.data[j];
  }
}

#define DIGITNET_BATCH_NORM(T)                                                                                 \
  template void batch_norm_forward<T>(const Dense<T>&, Matrix<T>, Matrix<T>, std::span<T>, bool);              \
  template void batch_norm_backward<T>(const Dense<T>&, Matrix<T>, Matrix<const T>, std::span<const T>, bool); \
  template void batch_norm_update<T>(const Dense<T>&, double, double);                                         \
  template void batch_norm_fold<T>(const Dense<T>&, const Dense<T>&);
DIGITNET_BATCH_NORM(float)
DIGITNET_BATCH_NORM(double)
#undef DIGITNET_BATCH_NORM

}  // namespace digitnet
