#include "digitnet/nn/dense.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/gemm.hpp"

namespace digitnet {
namespace {

// A share's bounds with -1 made concrete.
Units concrete(Units u, int in, int out) {
  if (u.i1 < 0) u.i1 = in;
  if (u.j1 < 0) u.j1 = out;
  return u;
}

// db = sum over the batch of dZ (added to db with accumulate)
template <class T>
void column_sums(Matrix<const T> dZ, T* db, bool accumulate) {
  if (!accumulate) std::fill(db, db + dZ.cols, T(0));
  for (int i = 0; i < dZ.rows; ++i) {
    const T* dz = dZ.row(i);
    for (int j = 0; j < dZ.cols; ++j) db[j] += dz[j];
  }
}

// Floats (or doubles) in a 64-byte cache line: every view starts on one.
template <class T>
std::size_t padded(std::size_t n) {
  constexpr std::size_t line = 64 / sizeof(T);
  return (n + line - 1) / line * line;
}

}  // namespace

template <class T>
DenseLayers<T>::DenseLayers(std::span<const int> sizes, bool batch_norm)
    : sizes_(sizes.begin(), sizes.end()), batch_norm_(batch_norm) {
  std::size_t total = 0;
  const auto add = [&](std::size_t n) {
    slots_.push_back({total, n});
    total += padded<T>(n);
  };
  const std::size_t L = sizes_.size() < 2 ? 0 : sizes_.size() - 1;
  for (std::size_t l = 0; l < L; ++l) {
    const std::size_t out = std::size_t(sizes_[l + 1]);
    add(std::size_t(sizes_[l]) * out);
    add(out);
    if (batch_norm_ && l + 1 < L) {  // gamma, beta of a hidden layer
      add(out);
      add(out);
    }
  }
  trainable_ = total;
  for (std::size_t l = 0; batch_norm_ && l + 1 < L; ++l) {  // running mean and var
    add(std::size_t(sizes_[l + 1]));
    add(std::size_t(sizes_[l + 1]));
  }
  values_.assign(total, T(0));
  gradients_.assign(total + kTail, T(0));
  bind();
  // A new normalization starts as PyTorch's: gamma 1, running variance 1 (beta and mean 0).
  for (auto& layer : layers_)
    if (layer.normalized()) {
      std::fill(layer.gamma.values().begin(), layer.gamma.values().end(), T(1));
      std::fill(layer.running_var.values().begin(), layer.running_var.values().end(), T(1));
    }
}

template <class T>
DenseLayers<T>::DenseLayers(const DenseLayers& other)
    : sizes_(other.sizes_),
      batch_norm_(other.batch_norm_),
      trainable_(other.trainable_),
      slots_(other.slots_),
      values_(other.values_),
      gradients_(other.gradients_) {
  bind();
}

template <class T>
DenseLayers<T>& DenseLayers<T>::operator=(const DenseLayers& other) {
  if (this == &other) return *this;
  sizes_ = other.sizes_;
  batch_norm_ = other.batch_norm_;
  trainable_ = other.trainable_;
  slots_ = other.slots_;
  values_ = other.values_;
  gradients_ = other.gradients_;
  bind();
  return *this;
}

template <class T>
void DenseLayers<T>::bind() {
  layers_.clear();
  const std::size_t L = sizes_.size() < 2 ? 0 : sizes_.size() - 1;
  std::size_t k = 0, stats = 0;
  for (std::size_t l = 0; l < L; ++l) stats += 2 + (batch_norm_ && l + 1 < L ? 2 : 0);
  const auto view = [&](AlignedVector<T>& buffer, const Slot& s, int rows, int cols) {
    return Matrix<T>(buffer.data() + s.offset, rows, cols);
  };
  for (std::size_t l = 0; l < L; ++l) {
    const int in = sizes_[l], out = sizes_[l + 1];
    Dense<T> d;
    const Slot w = slots_[k++], b = slots_[k++];
    d.Wt = view(values_, w, in, out);
    d.b = view(values_, b, 1, out);
    d.dWt = view(gradients_, w, in, out);
    d.db = view(gradients_, b, 1, out);
    if (batch_norm_ && l + 1 < L) {
      const Slot g = slots_[k++], be = slots_[k++], m = slots_[stats++], v = slots_[stats++];
      d.gamma = view(values_, g, 1, out);
      d.beta = view(values_, be, 1, out);
      d.dgamma = view(gradients_, g, 1, out);
      d.dbeta = view(gradients_, be, 1, out);
      d.running_mean = view(values_, m, 1, out);
      d.running_var = view(values_, v, 1, out);
      d.batch_mean = view(gradients_, m, 1, out);
      d.batch_var = view(gradients_, v, 1, out);
    }
    layers_.push_back(d);
  }
}

template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z, Units units) {
  const Units u = concrete(units, layer.in(), layer.out());
  const int n = u.j1 - u.j0, k = u.i1 - u.i0;
  if (n <= 0) return;
  if (k <= 0) {  // no terms: the bias alone, or Z as it is
    if (u.i0 == 0)
      for (int b = 0; b < Z.rows; ++b) std::copy_n(layer.b.data + u.j0, n, &Z(b, u.j0));
    return;
  }
  const Matrix<const T> Wt = Matrix<const T>(layer.Wt).rows_view(u.i0, k).cols_view(u.j0, n);
  const Matrix<const T> x = X.cols_view(u.i0, k);
  // Z = b + X Wt, columns j0 .. j1: from the bias with the first inputs, else on from Z
  if (u.i0 == 0) matmul_ab_bias(x, Wt, layer.b.data + u.j0, Z.cols_view(u.j0, n));
  else matmul_ab<T>(x, Wt, Z.cols_view(u.j0, n), /*accumulate=*/true);
}

template <class T>
void dense_forward_terms(const Dense<T>& layer, Matrix<const T> X, Matrix<T> P, Units units) {
  const Units u = concrete(units, layer.in(), layer.out());
  const int n = u.j1 - u.j0, k = u.i1 - u.i0;
  if (n <= 0) return;
  if (k <= 0) {  // no terms: zero
    for (int b = 0; b < P.rows; ++b) std::fill_n(&P(b, u.j0), n, T(0));
    return;
  }
  // P = X Wt over inputs i0 .. i1 and columns j0 .. j1, from zero
  matmul_ab<T>(X.cols_view(u.i0, k), Matrix<const T>(layer.Wt).rows_view(u.i0, k).cols_view(u.j0, n),
               P.cols_view(u.j0, n), /*accumulate=*/false);
}

template <class T>
void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX) {
  matmul_abt<T>(dZ, layer.Wt, dX);  // dX = dZ Wt^T = dZ W   (B, in)
}

template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate, Units units) {
  const Units u = concrete(units, layer.in(), layer.out());
  const int rows = u.i1 - u.i0;
  if (rows > 0)  // dWt = X^T dZ, rows [i0, i1): (X's columns i0..i1)^T dZ   (rows, out)
    matmul_atb<T>(X.cols_view(u.i0, rows), dZ, layer.dWt.rows_view(u.i0, rows), accumulate);
  if (u.j1 > u.j0) column_sums(dZ.cols_view(u.j0, u.j1 - u.j0), layer.db.data + u.j0, accumulate);  // db = sum_b dZ
}

template <class T>
void dense_forward_reference(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z) {
  for (int b = 0; b < X.rows; ++b)
    for (int j = 0; j < layer.out(); ++j) {
      T z = layer.b.data[j];  // Z[b, j] = b[j] + sum_i X[b, i] W[j, i]
      for (int i = 0; i < layer.in(); ++i) z = std::fma(X(b, i), layer.Wt(i, j), z);
      Z(b, j) = z;
    }
}

template <class T>
void dense_backward_reference(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX) {
  for (int i = 0; i < layer.in(); ++i)
    for (int j = 0; j < layer.out(); ++j) {
      T dw = 0;  // dW[j, i] = sum_b dZ[b, j] X[b, i]
      for (int b = 0; b < X.rows; ++b) dw = std::fma(X(b, i), dZ(b, j), dw);
      layer.dWt(i, j) = dw;
    }
  for (int j = 0; j < layer.out(); ++j) {
    T db = 0;  // db[j] = sum_b dZ[b, j]
    for (int b = 0; b < dZ.rows; ++b) db += dZ(b, j);
    layer.db.data[j] = db;
  }
  if (dX.empty()) return;
  for (int b = 0; b < dZ.rows; ++b)
    for (int i = 0; i < layer.in(); ++i) {
      T dx = 0;  // dX[b, i] = sum_j dZ[b, j] W[j, i]
      for (int j = 0; j < layer.out(); ++j) dx = std::fma(dZ(b, j), layer.Wt(i, j), dx);
      dX(b, i) = dx;
    }
}

#define DIGITNET_DENSE(T)                                                                            \
  template class DenseLayers<T>;                                                                     \
  template void dense_forward<T>(const Dense<T>&, Matrix<const T>, Matrix<T>, Units);                \
  template void dense_forward_terms<T>(const Dense<T>&, Matrix<const T>, Matrix<T>, Units);          \
  template void dense_backward_input<T>(const Dense<T>&, Matrix<const T>, Matrix<T>);                \
  template void dense_backward_weights<T>(Dense<T>&, Matrix<const T>, Matrix<const T>, bool, Units); \
  template void dense_forward_reference<T>(const Dense<T>&, Matrix<const T>, Matrix<T>);             \
  template void dense_backward_reference<T>(Dense<T>&, Matrix<const T>, Matrix<const T>, Matrix<T>);
DIGITNET_DENSE(float)
DIGITNET_DENSE(double)
#undef DIGITNET_DENSE

}  // namespace digitnet
