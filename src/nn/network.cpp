#include "digitnet/nn/network.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "digitnet/nn/dropout.hpp"
#include "digitnet/core/error.hpp"
#include "kernels/gemm.hpp"
#include "digitnet/core/parallel.hpp"

namespace digitnet {

std::vector<int> parse_layers(std::string_view text) {
  std::vector<int> sizes;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    const std::string_view item = text.substr(pos, comma - pos);
    int v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || v < 1 || v > 1'000'000)
      throw Error(fmt::format("--layers: '{}' is not a list of positive sizes like 784,128,64,10", text));
    sizes.push_back(v);
    pos = comma + 1;
  }
  if (sizes.size() < 2)
    throw Error(fmt::format("--layers: '{}' needs at least an input and an output size", text));
  return sizes;
}

std::string layers_to_string(const std::vector<int>& sizes) { return fmt::format("{}", fmt::join(sizes, ",")); }

template <class T>
Network<T>::Network(Architecture arch) : arch_(std::move(arch)) {
  if (arch_.sizes.size() < 2) throw Error("a network needs at least an input and an output size");
  for (int l = 0; l < arch_.depth(); ++l) layers.emplace_back(arch_.sizes[l], arch_.sizes[l + 1]);
  Z_.resize(arch_.depth());
  A_.resize(arch_.depth());
  G_.resize(arch_.depth());
}

template <class T>
void Network<T>::init(const Init& init, Rng& rng) {
  for (auto& layer : layers) init_dense(layer, init, rng);
}

template <class T>
void Network<T>::resize(int batch) {
  for (int l = 0; l < arch_.depth(); ++l) {
    Z_[l].resize(batch, arch_.sizes[l + 1]);
    A_[l].resize(batch, arch_.sizes[l + 1]);
    G_[l].resize(batch, arch_.sizes[l + 1]);
  }
}

template <class T>
void Network<T>::set_dropout(std::vector<double> p, std::uint64_t seed) {
  const int hidden = arch_.depth() - 1;
  if (p.size() == 1) p.assign(hidden, p[0]);
  if (static_cast<int>(p.size()) != hidden)
    throw Error(fmt::format("--dropout: {} values for {} hidden layers", p.size(), hidden));
  for (double v : p)
    if (!(v >= 0 && v < 1)) throw Error(fmt::format("--dropout: {} is not in [0, 1)", v));
  dropout_ = std::move(p);
  M_.resize(hidden);
  D_.resize(hidden);
  dropout_rng_ = Rng(seed, kDropoutStream);
}

void check_label_smoothing(double s, Loss loss) {
  if (!(s >= 0 && s < 1)) throw Error(fmt::format("--label-smoothing: {} is not in [0, 1)", s));
  if (s > 0 && loss != Loss::cross_entropy) throw Error("--label-smoothing: only applies to the ce loss");
}

template <class T>
void Network<T>::set_label_smoothing(double s) {
  check_label_smoothing(s, arch_.loss);
  smoothing_ = s;
}

template <class T>
Matrix<const T> Network<T>::layer_input(Matrix<const T> X, int l, int core) const {
  if (l == 0) {
    if (X.data || inputs_.empty()) return X;
    const bool own = static_cast<std::size_t>(core) < filled_.size() && filled_[core];
    return inputs_[own ? core : 0].view();  // the batch as this core wrote it, or as core 0 did
  }
  if (dropping_ && dropout_[l - 1] > 0) return D_[l - 1].view();
  return A_[l - 1].view();
}

// Rows [r0, r1) of a batch, split between cores: everything but the first layer's product
// and the sums over the batch is per example. Each core takes a contiguous share of rows.
template <class T>
template <class F>
void Network<T>::for_row_shares(int rows, F&& f) {
  run_shares(std::min(threads(), rows / 8), rows, f);
}

// Layer 0's product is done; rows [r0, r1) through its activation and every later layer.
template <class T>
void Network<T>::forward_rows(Matrix<const T> X, int r0, int r1, bool output) {
  const int n = r1 - r0, L = arch_.depth();
  for (int l = 0; l < L; ++l) {
    const Matrix<T> Z = Z_[l].view().rows_view(r0, n);
    if (l > 0) dense_forward(layers[l], layer_input(X, l).rows_view(r0, n), Z);  // Z = A_prev W^T + b
    if (l + 1 == L) {
      if (output) output_forward<T>(arch_.loss, Z, A_[l].view().rows_view(r0, n));  // softmax or sigmoid
      break;
    }
    const Matrix<T> A = A_[l].view().rows_view(r0, n);
    activation_forward<T>(arch_.hidden, Z, A);  // A = f(Z)
    if (dropping_ && dropout_[l] > 0)           // D = A * M
      dropout_forward<T>(A, dropout_[l], draws_[l], M_[l].view().rows_view(r0, n), D_[l].view().rows_view(r0, n), r0);
  }
}

template <class T>
void Network<T>::start_forward(Matrix<const T> X, const Fill* fill, bool training) {
  if (X.cols != arch_.inputs())
    throw Error(fmt::format("input has {} values per example but the network expects {}", X.cols, arch_.inputs()));
  resize(X.rows);
  dropping_ = training && !dropout_.empty();
  if (dropping_) {
    draws_.resize(dropout_.size());
    for (std::size_t l = 0; l < dropout_.size(); ++l) {
      draws_[l] = dropout_rng_.next();
      M_[l].resize(X.rows, arch_.sizes[l + 1]);
      D_[l].resize(X.rows, arch_.sizes[l + 1]);
    }
  }
  if (!fill) return dense_forward(layers[0], X, Z_[0].view());  // Z = X W^T + b, columns split between cores
  // Each core writes the batch into its own copy, then computes its share of Z's columns
  // (16 at a time) from it. Z = X W^T + b
  const Dense<T>& first = layers[0];
  const int cores = double(X.rows) * first.in() * first.out() < 6e4 ? 1 : threads();
  inputs_.resize(cores);
  filled_.assign(cores, 0);
  const auto caller = std::this_thread::get_id();
  run_parallel(cores, [&](int t) {
    const bool own = t == 0 || std::this_thread::get_id() != caller;  // else copy 0 is this thread's
    if (own) {
      inputs_[t].resize(X.rows, X.cols);
      (*fill)(inputs_[t].view());
      filled_[t] = 1;
    }
    const Matrix<const T> input = inputs_[own ? t : 0].view();
    const auto [j0, j1] = block_share(first.out(), 16, t, cores);
    if (j0 < j1)
      matmul_ab_bias(input, Matrix<const T>(first.Wt.view()).cols_view(j0, j1 - j0), first.b.data() + j0,
                     Z_[0].view().cols_view(j0, j1 - j0));
  });
}

template <class T>
Matrix<const T> Network<T>::forward_pass(Matrix<const T> X, bool training) {
  start_forward(X, nullptr, training);
  for_row_shares(X.rows, [&](int r0, int r1) { forward_rows(X, r0, r1, true); });
  return A_.back().view();
}

// Rows [r0, r1) after forward_rows: loss, dZ of the last layer, and back through every layer
// to dZ of the first: dA_{l-1} = dZ_l W_l (with W before any update), then the mask and f'.
template <class T>
void Network<T>::backward_rows(std::span<const int> labels, int batch, int r0, int r1) {
  const int n = r1 - r0, L = arch_.depth();
  const auto rows = [&](Tensor<T>& t) { return t.view().rows_view(r0, n); };
  const T s = T(smoothing_);
  for (int b = r0; b < r1; ++b)  // one row at a time, so the loss adds up the same on any core count
    row_loss_[b] = loss_forward<T>(arch_.loss, Z_[L - 1].view().rows_view(b, 1), labels.subspan(b, 1),
                                   A_[L - 1].view().rows_view(b, 1), s);
  loss_backward<T>(arch_.loss, rows(A_[L - 1]), labels.subspan(r0, n), rows(G_[L - 1]), batch, s);  // dZ_L
  for (int l = L - 1; l > 0; --l) {
    dense_backward_input(layers[l], Matrix<const T>(rows(G_[l])), rows(G_[l - 1]));  // dA_{l-1} = dZ_l W_l
    if (dropping_ && dropout_[l - 1] > 0)  // through the mask: dA = dD * M
      dropout_backward<T>(rows(M_[l - 1]), rows(G_[l - 1]));
    // dZ_{l-1} = dA_{l-1} * f'(Z_{l-1}), in place
    activation_backward<T>(arch_.hidden, rows(Z_[l - 1]), rows(A_[l - 1]), rows(G_[l - 1]), rows(G_[l - 1]));
  }
}

template <class T>
T Network<T>::backward_pass(Matrix<const T> X, const Fill* fill, std::span<const int> labels, int batch,
                            bool accumulate, const T* sgd_lr) {
  start_forward(X, fill, true);
  row_loss_.resize(X.rows);
  // Per example, rows split between cores: the forward pass, the loss and every dZ.
  for_row_shares(X.rows, [&](int r0, int r1) {
    forward_rows(X, r0, r1, false);
    backward_rows(labels, batch, r0, r1);
  });
  // Sums over the batch: dW_l = input_l^T dZ_l and db_l, with the SGD step fused in, for every
  // layer in one hand-off between cores. Each core takes whole rows of every Wt (a share of
  // the input units, in 12s: whole register tiles) and a share of the biases (16 at a time:
  // whole cache lines). input_l is what the forward pass multiplied: D, not A, under dropout.
  const int L = arch_.depth();
  double work = 0;
  for (const auto& layer : layers) work += double(layer.in()) * layer.out() * X.rows;
  const int cores = work < 1e5 ? 1 : threads();
  run_parallel(cores, [&](int t) {
    for (int l = L - 1; l >= 0; --l) {
      const auto [i0, i1] = block_share(layers[l].in(), 12, t, cores);   // rows of Wt
      const auto [j0, j1] = block_share(layers[l].out(), 16, t, cores);  // entries of b
      const Units u{i0, i1, j0, j1};
      const Matrix<const T> input = layer_input(X, l, t), dZ = G_[l].view();
      if (sgd_lr) dense_backward_weights_sgd(layers[l], input, dZ, *sgd_lr, u);
      else dense_backward_weights(layers[l], input, dZ, accumulate, u);
    }
  });
  T loss = 0;
  for (const T v : row_loss_) loss += v;
  return loss / T(batch);
}

template <class T>
std::size_t Network<T>::parameter_count() const {
  std::size_t n = 0;
  for (const auto& layer : layers) n += layer.Wt.size() + layer.b.size();
  return n;
}

template class Network<float>;
template class Network<double>;

}  // namespace digitnet
