#include "digitnet/nn/loss.hpp"

#include <algorithm>
#include <cmath>

#include "digitnet/core/error.hpp"
#include "digitnet/nn/activation.hpp"

namespace digitnet {

Loss parse_loss(std::string_view name) {
  if (name == "ce" || name == "cross-entropy") return Loss::cross_entropy;
  if (name == "mse") return Loss::mse;
  throw SettingError("loss", "'" + std::string(name) + "' is not one of ce or mse");
}

std::string to_string(Loss l) { return l == Loss::cross_entropy ? "ce" : "mse"; }

namespace {

// P[b,:] = softmax(Z[b,:]); returns log sum_c exp(Z[b,c]) for the loss.
template <class T>
T softmax_row(const T* z, T* p, int n, bool want_lse = true) {
  const T m = *std::max_element(z, z + n);                // subtract the max so exp never overflows
  for (int j = 0; j < n; ++j) p[j] = std::exp(z[j] - m);  // independent calls, then the sum
  T sum = 0;
  for (int j = 0; j < n; ++j) sum += p[j];
  for (int j = 0; j < n; ++j) p[j] /= sum;
  return want_lse ? m + std::log(sum) : T(0);  // log-sum-exp, for the loss
}

}  // namespace

template <class T>
void output_forward(Loss loss, Matrix<const T> Z, Matrix<T> out) {
  for (int b = 0; b < Z.rows; ++b) {
    if (loss == Loss::cross_entropy) {
      softmax_row(Z.row(b), out.row(b), Z.cols, /*want_lse=*/false);
    } else {
      for (int j = 0; j < Z.cols; ++j) out(b, j) = sigmoid(Z(b, j));
    }
  }
}

template <class T>
T loss_forward(Loss loss, Matrix<const T> Z, std::span<const int> labels, Matrix<T> out, T smoothing) {
  T total = 0;
  for (int b = 0; b < Z.rows; ++b) {
    const int y = labels[b];
    if (loss == Loss::cross_entropy) {
      // -sum_c Y[c] log softmax(z)[c] = logsumexp(z) - sum_c Y[c] z[c]: exact even when P[y] underflows.
      const T lse = softmax_row(Z.row(b), out.row(b), Z.cols);
      T target_dot_z = (T(1) - smoothing) * Z(b, y);
      if (smoothing > 0) {
        T sum_z = 0;
        for (int j = 0; j < Z.cols; ++j) sum_z += Z(b, j);
        target_dot_z += smoothing / T(Z.cols) * sum_z;
      }
      total += lse - target_dot_z;
    } else {
      for (int j = 0; j < Z.cols; ++j) {
        const T a = out(b, j) = sigmoid(Z(b, j));
        const T d = a - (j == y ? T(1) : T(0));
        total += d * d;
      }
    }
  }
  return total / T(Z.rows);
}

template <class T>
void loss_backward(Loss loss, Matrix<const T> out, std::span<const int> labels, Matrix<T> dZ, int batch, T smoothing) {
  const T inv_batch = T(1) / T(batch);
  const T off = smoothing / T(out.cols), on = T(1) - smoothing + off;  // Y's entries
  for (int b = 0; b < out.rows; ++b) {
    const int y = labels[b];
    for (int j = 0; j < out.cols; ++j) {
      const T a = out(b, j);
      const T diff = a - (j == y ? on : off);                                             // A - Y
      dZ(b, j) = loss == Loss::cross_entropy ? diff * inv_batch                           // (P - Y) / B
                                             : T(2) * diff * a * (T(1) - a) * inv_batch;  // 2(A-Y)A(1-A) / B
    }
  }
}

template void output_forward<float>(Loss, Matrix<const float>, Matrix<float>);
template void output_forward<double>(Loss, Matrix<const double>, Matrix<double>);
template float loss_forward<float>(Loss, Matrix<const float>, std::span<const int>, Matrix<float>, float);
template double loss_forward<double>(Loss, Matrix<const double>, std::span<const int>, Matrix<double>, double);
template void loss_backward<float>(Loss, Matrix<const float>, std::span<const int>, Matrix<float>, int, float);
template void loss_backward<double>(Loss, Matrix<const double>, std::span<const int>, Matrix<double>, int, double);

}  // namespace digitnet
