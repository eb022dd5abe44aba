#include "digitnet/nn/network.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "digitnet/core/error.hpp"
#include "digitnet/nn/batch_norm.hpp"
#include "digitnet/nn/dropout.hpp"
#include "kernels/split.hpp"

namespace digitnet {

std::string layers_to_string(const std::vector<int>& sizes) { return fmt::format("{}", fmt::join(sizes, ",")); }

template <class T>
Network<T>::Network(Architecture arch) : arch_(std::move(arch)) {
  if (arch_.sizes.size() < 2) throw SettingError("layers", "a network needs at least an input and an output size");
  layers = DenseLayers<T>(arch_.sizes, arch_.batch_norm);
  Z_.resize(arch_.depth());
  A_.resize(arch_.depth());
  G_.resize(arch_.depth());
}

template <class T>
void Network<T>::init(const Init& init, Rng& rng) {
  for (auto& layer : layers) init_dense(layer, init, rng);
  weights_changed();
}

template <class T>
void Network<T>::set_dropout(std::vector<double> p) {
  const int hidden = arch_.depth() - 1;
  if (p.size() == 1) p.assign(hidden, p[0]);
  if (static_cast<int>(p.size()) != hidden)
    throw SettingError("dropout", fmt::format("{} values for {} hidden layers", p.size(), hidden));
  for (std::size_t l = 0; l < p.size(); ++l)
    if (!(p[l] >= 0 && p[l] < 1))
      throw SettingError("dropout", fmt::format("{} is not a probability in [0, 1)", p[l]), static_cast<int>(l));
  const bool any = std::any_of(p.begin(), p.end(), [](double v) { return v > 0; });
  dropout_ = any ? std::move(p) : std::vector<double>{};
  M_.resize(dropout_.size());
  D_.resize(dropout_.size());
}

template <class T>
void Network<T>::set_label_smoothing(double s) {
  if (!(s >= 0 && s < 1)) throw SettingError("label_smoothing", fmt::format("{} is not in [0, 1)", s));
  if (s > 0 && arch_.loss != Loss::cross_entropy) throw SettingError("label_smoothing", "only applies to the ce loss");
  smoothing_ = s;
}

template <class T>
Matrix<const T> Network<T>::layer_input(int l) {
  if (l == 0) return input_.here();
  return dropped(l - 1) ? D_[l - 1].view() : A_[l - 1].view();
}

template <class T>
void Network<T>::start(const Batch<T>& X, bool training, bool prepared) {
  if (X.cols() != arch_.inputs())
    throw Error(fmt::format("input has {} values per example but the network expects {}", X.cols(), arch_.inputs()));
  const int B = X.rows();
  for (int l = 0; l < arch_.depth(); ++l) {
    Z_[l].resize(B, arch_.sizes[l + 1]);
    A_[l].resize(B, arch_.sizes[l + 1]);
    G_[l].resize(B, arch_.sizes[l + 1]);
  }
  if (prepared) input_.start_prepared(X);
  else input_.start(X);
  ahead_keys_.clear();  // Z_1's parts are this step's now, or overwritten
  dropping_ = training && !dropout_.empty();
  if (!dropping_) return;
  for (std::size_t l = 0; l < dropout_.size(); ++l) {
    M_[l].resize(B, arch_.sizes[l + 1]);
    D_[l].resize(B, arch_.sizes[l + 1]);
  }
}

// Z_1 = X W_1^T + b_1: each core its share (kernels/split.hpp), from the batch as it reads it.
// In a training step, in two parts over the inputs: P_0 = b_1 + (first inputs' terms) in Z_1,
// P_1 = (the other inputs' terms) in P_, added by add_first_layer_parts.
template <class T>
void Network<T>::first_layer_forward(bool updating) {
  if (updating) P_.resize(Z_[0].rows, Z_[0].cols);
  split_first_layer(arch_.sizes, Z_[0].rows, updating, [&](int part, Range inputs, Range rows, Range columns) {
    const int n = rows.second - rows.first;
    const Matrix<const T> X = input_.here(inputs.first, inputs.second).rows_view(rows.first, n);
    first_layer_terms((*infer_)[0], part, X, rows.first, {inputs.first, inputs.second, columns.first, columns.second});
  });
}

// Part `part` of Z_1 for X's rows (row r0 on): P_0 (from b_1) or P_1, over units' inputs and outputs.
template <class T>
void Network<T>::first_layer_terms(const Dense<T>& layer, int part, Matrix<const T> X, int r0, Units units) {
  if (part == 0) dense_forward(layer, X, Z_[0].view().rows_view(r0, X.rows), units);
  else dense_forward_terms(layer, X, P_.view().rows_view(r0, X.rows), units);
}

// Z_1 = P_0 + P_1 for rows [r0, r1), after a training step's first_layer_forward.
template <class T>
void Network<T>::add_first_layer_parts(int r0, int r1) {
  for (int b = r0; b < r1; ++b) {
    T* z = Z_[0].view().row(b);
    const T* p = P_.view().row(b);
    for (int j = 0; j < Z_[0].cols; ++j) z[j] += p[j];
  }
}

// Rows [r0, r1) from Z_1 through every later layer: each row depends on its own row only.
template <class T>
void Network<T>::forward_rows(int r0, int r1, bool output) {
  const int n = r1 - r0, L = arch_.depth();
  const auto rows = [&](Tensor<T>& t) { return t.view().rows_view(r0, n); };
  for (int l = 0; l < L; ++l) {
    if (l > 0) dense_forward((*infer_)[l], layer_input(l).rows_view(r0, n), rows(Z_[l]));  // Z_l = A_{l-1} W_l^T + b_l
    if (l + 1 == L) break;
    activation_forward<T>(arch_.hidden, rows(Z_[l]), rows(A_[l]));  // A_l = f(Z_l)
    if (dropped(l))                                                 // D = A M
      dropout_forward<T>(rows(A_[l]), dropout_[l], draws_[l], rows(M_[l]), rows(D_[l]), keys_.subspan(r0, n));
  }
  if (output) output_forward<T>(arch_.loss, rows(Z_[L - 1]), rows(A_[L - 1]));  // softmax or sigmoid
}

// Rows [r0, r1) after forward_rows: the loss, dZ of the last layer, and back through every
// layer to dZ_1: dA_{l-1} = dZ_l W_l (with W before any update), then the mask and f'.
template <class T>
void Network<T>::backward_rows(std::span<const int> labels, int batch, int r0, int r1) {
  const int n = r1 - r0, L = arch_.depth();
  const auto rows = [&](Tensor<T>& t) { return t.view().rows_view(r0, n); };
  const T s = T(smoothing_);
  for (int b = r0; b < r1; ++b)  // one row at a time, so the loss adds up the same on any core count
    row_loss_[b] = loss_forward<T>(arch_.loss, Z_[L - 1].view().rows_view(b, 1), labels.subspan(b, 1),
                                   A_[L - 1].view().rows_view(b, 1), s);
  loss_backward<T>(arch_.loss, rows(A_[L - 1]), labels.subspan(r0, n), rows(G_[L - 1]), batch, s);  // dZ_D
  for (int l = L - 1; l > 0; --l) {
    dense_backward_input(layers[l], Matrix<const T>(rows(G_[l])), rows(G_[l - 1]));  // dA_{l-1} = dZ_l W_l
    if (dropped(l - 1)) dropout_backward<T>(rows(M_[l - 1]), rows(G_[l - 1]));       // dA = dD M
    // dZ_{l-1} = dA_{l-1} * f'(Z_{l-1}), in place
    activation_backward<T>(arch_.hidden, rows(Z_[l - 1]), rows(A_[l - 1]), rows(G_[l - 1]), rows(G_[l - 1]));
  }
}

template <class T>
const DenseLayers<T>& Network<T>::inference_layers() {
  if (!arch_.batch_norm) return layers;
  if (!folded_) {
    Architecture plain = arch_;
    plain.batch_norm = false;
    if (fold_.size() != layers.size()) fold_ = DenseLayers<T>(arch_.sizes);
    for (std::size_t l = 0; l < layers.size(); ++l) {
      if (layers[l].normalized()) {
        batch_norm_fold(layers[l], fold_[l]);
      } else {
        std::copy(layers[l].Wt.values().begin(), layers[l].Wt.values().end(), fold_[l].Wt.values().begin());
        std::copy(layers[l].b.values().begin(), layers[l].b.values().end(), fold_[l].b.values().begin());
      }
    }
    folded_ = true;
  }
  return fold_;
}

template <class T>
void Network<T>::update_batch_statistics(double rows) {
  for (const auto& layer : layers)
    if (layer.normalized()) batch_norm_update(layer, rows);
  folded_ = false;
}

template <class T>
Matrix<const T> Network<T>::forward(Matrix<const T> X) {
  infer_ = &inference_layers();
  start(X, /*training=*/false);
  first_layer_forward(/*updating=*/false);
  split_rows(arch_.sizes, X.rows, [&](int r0, int r1) { forward_rows(r0, r1, /*output=*/true); });
  return output();
}

template <class T>
typename Network<T>::WeightSums Network<T>::gradient_sums(bool accumulate) {
  static const auto set = [](Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Units u) {
    dense_backward_weights(layer, X, dZ, false, u);
  };
  static const auto add = [](Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Units u) {
    dense_backward_weights(layer, X, dZ, true, u);
  };
  return accumulate ? WeightSums(add) : WeightSums(set);
}

// A training step's inputs, row keys and dropout draws: what both kinds of step start from.
template <class T>
void Network<T>::begin_step(const Examples<T>& ex, bool prepared) {
  infer_ = &layers;
  start(ex.X, /*training=*/true, prepared);
  keys_ = ex.keys;
  draws_.resize(dropout_.size());
  for (std::size_t l = 0; l < dropout_.size(); ++l) draws_[l] = Rng(ex.draw, kDropoutStream + l).next();
  row_loss_.resize(static_cast<std::size_t>(ex.X.rows()));
}

// Whether the last step computed this step's Z_1 parts ahead, on these very examples.
template <class T>
bool Network<T>::prepared(const Examples<T>& ex) const {
  return !ahead_keys_.empty() && ex.X.fill && ex.X.rows() == Z_[0].rows &&
         std::equal(ahead_keys_.begin(), ahead_keys_.end(), ex.keys.begin(), ex.keys.end());
}

// The step is split between cores in three phases (src/kernels/split.hpp): the first
// layer's product in two parts by inputs, everything per example (on one core, or by rows), and the
// sums over the batch by units. The sums come last, so every dA_{l-1} was computed with W before its update.
// Given the next step's batch, the last hand-off also computes that step's first layer, with W_1
// as this step leaves it, and the next step (on the same examples) starts at phase 2.
template <class T>
T Network<T>::train_step(const Examples<T>& ex, WeightSums sums) {
  const int B = ex.X.rows();
  if (static_cast<int>(ex.labels.size()) != B || static_cast<int>(ex.keys.size()) != B || ex.batch < B)
    throw Error(
        fmt::format("a training step of {} rows needs as many labels and keys, and a batch of at least {}", B, B));
  folded_ = false;  // the weights change with this step
  training_step();  // the adaptive thread pool counts steps (core/parallel.hpp)
  if (arch_.batch_norm) return normalized_step(ex, sums);
  const bool ready = prepared(ex);
  begin_step(ex, ready);
  if (!ready) first_layer_forward(/*updating=*/true);                          // Z_1 = X W_1^T + b_1, in two parts
  const int row_cores = split_step_rows(arch_.sizes, B, [&](int r0, int r1) {  // per example:
    add_first_layer_parts(r0, r1);                                             //   Z_1 = P_0 + P_1
    forward_rows(r0, r1, /*output=*/false);                                    //   Z_l, A_l, and the output
    backward_rows(ex.labels, ex.batch, r0, r1);                                //   the loss, dZ_D .. dZ_1
  });
  // Z_1 is free once phase 2 has read it (but for one layer it is the output, read after the step)
  const bool next = ex.next && ex.next->fill && ex.next->rows() == B && static_cast<int>(ex.next_keys.size()) == B &&
                    arch_.depth() > 1;
  if (next) input_.start_next(*ex.next);
  // dW_l = dZ_l^T A_{l-1}, db_l = sum_b dZ_l, or the update they feed, for each core's units
  const auto weight_sums = [&](int l, Range in, Range out) {
    // layer 1 reads only its inputs in, so a core writes only those columns of its batch copy
    const Matrix<const T> X = l == 0 ? input_.here(in.first, in.second) : layer_input(l);
    sums(layers[l], X, G_[l].view(), {in.first, in.second, out.first, out.second});
  };
  const auto next_first_layer = [&](int part, Range in) {  // the next batch's part of Z_1
    first_layer_terms(layers[0], part, input_.next_here(in.first, in.second), 0,
                      {in.first, in.second, 0, arch_.sizes[1]});
  };
  if (split_weight_sums(arch_.sizes, B, row_cores, weight_sums, next, next_first_layer))
    ahead_keys_.assign(ex.next_keys.begin(), ex.next_keys.end());
  T loss = 0;
  for (const T v : row_loss_) loss += v;
  return loss / T(ex.batch);
}

// With batch normalization a unit's every row is needed before any row goes on, so the step
// goes layer by layer over all its rows (the products share the cores themselves).
template <class T>
T Network<T>::normalized_step(const Examples<T>& ex, WeightSums sums) {
  const int B = ex.X.rows(), L = arch_.depth();
  begin_step(ex, /*prepared=*/false);
  Zhat_.resize(L);
  inv_std_.resize(L);
  for (int l = 0; l < L; ++l) {
    dense_forward(layers[l], layer_input(l), Z_[l].view());  // Z_l = A_{l-1} W_l^T + b_l
    if (l + 1 == L) break;
    if (layers[l].normalized()) {  // Z_l becomes Y_l = gamma Zhat_l + beta
      Zhat_[l].resize(B, arch_.sizes[l + 1]);
      inv_std_[l].resize(arch_.sizes[l + 1]);
      batch_norm_forward(layers[l], Z_[l].view(), Zhat_[l].view(), std::span<T>(inv_std_[l]), ex.accumulate);
    }
    activation_forward<T>(arch_.hidden, Z_[l].view(), A_[l].view());  // A_l = f(Y_l)
    if (dropped(l)) dropout_forward<T>(A_[l].view(), dropout_[l], draws_[l], M_[l].view(), D_[l].view(), keys_);
  }
  const T s = T(smoothing_);
  for (int b = 0; b < B; ++b)
    row_loss_[b] = loss_forward<T>(arch_.loss, Z_[L - 1].view().rows_view(b, 1), ex.labels.subspan(b, 1),
                                   A_[L - 1].view().rows_view(b, 1), s);
  loss_backward<T>(arch_.loss, A_[L - 1].view(), ex.labels, G_[L - 1].view(), ex.batch, s);  // dZ_D
  for (int l = L - 1; l > 0; --l) {
    dense_backward_input(layers[l], Matrix<const T>(G_[l].view()), G_[l - 1].view());  // dA_{l-1} = dZ_l W_l
    if (dropped(l - 1)) dropout_backward<T>(M_[l - 1].view(), G_[l - 1].view());       // dA = dD M
    activation_backward<T>(arch_.hidden, Z_[l - 1].view(), A_[l - 1].view(), G_[l - 1].view(), G_[l - 1].view());
    if (layers[l - 1].normalized())  // dY_{l-1} becomes dZ_{l-1}; dgamma, dbeta
      batch_norm_backward(layers[l - 1], G_[l - 1].view(), Matrix<const T>(Zhat_[l - 1].view()),
                          std::span<const T>(inv_std_[l - 1]), ex.accumulate);
  }
  for (int l = L - 1; l >= 0; --l) sums(layers[l], layer_input(l), G_[l].view(), {});
  T loss = 0;
  for (const T v : row_loss_) loss += v;
  return loss / T(ex.batch);
}

template <class T>
T Network<T>::forward_backward(Matrix<const T> X, std::span<const int> labels, std::uint64_t draw) {
  std::vector<std::size_t> keys(static_cast<std::size_t>(X.rows));
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = i;
  return train_step({X, labels, X.rows, keys, draw}, gradient_sums(false));
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
