#include "digitnet/network.hpp"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "digitnet/dropout.hpp"
#include "digitnet/error.hpp"

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
Matrix<const T> Network<T>::layer_input(Matrix<const T> X, int l) const {
  if (l == 0) return X;
  if (dropping_ && dropout_[l - 1] > 0) return D_[l - 1].view();
  return A_[l - 1].view();
}

template <class T>
Matrix<const T> Network<T>::forward_pass(Matrix<const T> X, bool training) {
  if (X.cols != arch_.inputs())
    throw Error(fmt::format("input has {} values per example but the network expects {}", X.cols, arch_.inputs()));
  resize(X.rows);
  dropping_ = training && !dropout_.empty();
  const int L = arch_.depth();
  for (int l = 0; l < L; ++l) {
    dense_forward(layers[l], layer_input(X, l), Z_[l].view());  // Z = A_prev W^T + b
    if (l + 1 == L) break;
    activation_forward<T>(arch_.hidden, Z_[l].view(), A_[l].view());  // A = f(Z)
    if (dropping_ && dropout_[l] > 0) {  // D = A * M
      M_[l].resize(X.rows, arch_.sizes[l + 1]);
      D_[l].resize(X.rows, arch_.sizes[l + 1]);
      dropout_forward<T>(A_[l].view(), dropout_[l], dropout_rng_.next(), M_[l].view(), D_[l].view());
    }
  }
  output_forward<T>(arch_.loss, Z_[L - 1].view(), A_[L - 1].view());  // softmax or sigmoid
  return A_[L - 1].view();
}

template <class T>
T Network<T>::backward_pass(Matrix<const T> X, std::span<const int> labels, int batch, bool accumulate,
                            const T* sgd_lr) {
  forward_pass(X, true);
  const int L = arch_.depth();
  const T s = T(smoothing_);
  const T loss = loss_forward<T>(arch_.loss, Z_[L - 1].view(), labels, A_[L - 1].view(), s);
  loss_backward<T>(arch_.loss, A_[L - 1].view(), labels, G_[L - 1].view(), batch, s);  // dZ_L
  for (int l = L - 1; l >= 0; --l) {
    const Matrix<const T> input = layer_input(X, l);  // what the forward pass multiplied: D, not A, under dropout
    // dW_l, db_l, and dA_{l-1} = dZ_l W_l into G_[l-1] (none for the first layer)
    const Matrix<const T> dZ = G_[l].view();
    const Matrix<T> dA_prev = l > 0 ? G_[l - 1].view() : Matrix<T>();
    if (sgd_lr) dense_backward_sgd(layers[l], input, dZ, dA_prev, *sgd_lr);
    else dense_backward(layers[l], input, dZ, dA_prev, accumulate);
    if (l > 0 && dropping_ && dropout_[l - 1] > 0)  // through the mask: dA = dD * M
      dropout_backward<T>(M_[l - 1].view(), G_[l - 1].view());
    if (l > 0)  // dZ_{l-1} = dA_{l-1} * f'(Z_{l-1}), in place
      activation_backward<T>(arch_.hidden, Z_[l - 1].view(), A_[l - 1].view(), G_[l - 1].view(), G_[l - 1].view());
  }
  return loss * T(X.rows) / T(batch);
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
