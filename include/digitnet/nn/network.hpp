#pragma once
// A Network owns its dense layers and the per-batch buffers of the forward and
// backward passes. Hidden layers use one activation; the output layer is fixed by
// the loss (softmax for ce, sigmoid for mse). See docs/math.md for the equations.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/nn/activation.hpp"
#include "digitnet/nn/dense.hpp"
#include "digitnet/nn/init.hpp"
#include "digitnet/nn/loss.hpp"
#include "digitnet/core/matrix.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"

namespace digitnet {

struct Architecture {
  std::vector<int> sizes;  // input, hidden..., classes; e.g. {784, 128, 64, 10}
  Activation hidden = Activation::relu;
  Loss loss = Loss::cross_entropy;

  int inputs() const { return sizes.front(); }
  int classes() const { return sizes.back(); }
  int depth() const { return static_cast<int>(sizes.size()) - 1; }  // number of dense layers
};

// "784,128,64,10" -> {784, 128, 64, 10}; throws Error naming --layers.
std::vector<int> parse_layers(std::string_view text);
std::string layers_to_string(const std::vector<int>& sizes);
// Throws Error naming --label-smoothing unless 0 <= s < 1 (and s = 0 for the mse loss).
void check_label_smoothing(double s, Loss loss);

template <class T>
class Network {
 public:
  explicit Network(Architecture arch);

  const Architecture& arch() const { return arch_; }
  std::vector<Dense<T>> layers;

  void init(const Init& init, Rng& rng);

  // Inference: returns the output activations (B, classes), valid until the next call.
  Matrix<const T> forward(Matrix<const T> X) { return forward_pass(X, false); }

  // Inverted dropout on the hidden layers while training (p[l] for hidden layer l; one value
  // applies to all): each unit is kept with probability 1 - p and scaled by 1 / (1 - p).
  // Never applied in forward(). The masks come from their own seeded stream.
  void set_dropout(std::vector<double> p, std::uint64_t seed);
  // Label smoothing s in [0, 1) for the cross-entropy loss while training (loss.hpp).
  void set_label_smoothing(double s);
  // Training: forward, loss, then backward into every layer's dW and db.
  // Returns the batch-mean loss; output() holds the predictions.
  T forward_backward(Matrix<const T> X, std::span<const int> labels) { return accumulate_gradients(X, labels, X.rows, true); }
  // The same for a batch of `batch` examples given in chunks of rows: the first chunk
  // (first = true) sets dW and db, later ones add to them, and the result is bit for bit
  // that of the whole batch at once. Returns this chunk's share of the batch-mean loss.
  T accumulate_gradients(Matrix<const T> X, std::span<const int> labels, int batch, bool first) {
    return backward_pass(X, nullptr, labels, batch, !first, nullptr);
  }
  // Plain SGD in one go: forward_backward then sgd_step on every layer, with each layer's
  // update fused into its weight gradient (dense_backward_sgd). Same bits; dW is not kept.
  T train_step_sgd(Matrix<const T> X, std::span<const int> labels, T lr) {
    return backward_pass(X, nullptr, labels, X.rows, false, &lr);
  }
  // Both, with the batch (rows x inputs) written by fill(X) instead: each core that takes part
  // calls fill on a matrix of its own, so no core reads a batch another one wrote (that read
  // was 5% of a step at batch 32). fill must write the same values every time it is called.
  using Fill = FunctionRef<void(Matrix<T>)>;
  T accumulate_gradients(int rows, Fill fill, std::span<const int> labels, int batch, bool first) {
    return backward_pass({nullptr, rows, arch_.inputs()}, &fill, labels, batch, !first, nullptr);
  }
  T train_step_sgd(int rows, Fill fill, std::span<const int> labels, T lr) {
    return backward_pass({nullptr, rows, arch_.inputs()}, &fill, labels, rows, false, &lr);
  }

  Matrix<const T> output() const { return A_.back().view(); }
  Matrix<const T> logits() const { return Z_.back().view(); }
  Matrix<const T> hidden(int l) const { return A_[l].view(); }  // activation of layer l

  std::size_t parameter_count() const;

 private:
  void resize(int batch);
  template <class F> void for_row_shares(int rows, F&& f);
  void start_forward(Matrix<const T> X, const Fill* fill, bool training);
  void forward_rows(Matrix<const T> X, int r0, int r1, bool output);
  void backward_rows(std::span<const int> labels, int batch, int r0, int r1);
  Matrix<const T> forward_pass(Matrix<const T> X, bool training);
  Matrix<const T> layer_input(Matrix<const T> X, int l, int core = 0) const;  // what layer l reads
  T backward_pass(Matrix<const T> X, const Fill* fill, std::span<const int> labels, int batch, bool accumulate,
                  const T* sgd_lr);
  Architecture arch_;
  std::vector<Tensor<T>> Z_;  // Z_[l]: pre-activation of layer l (B, sizes[l+1])
  std::vector<Tensor<T>> A_;  // A_[l]: activation of layer l; the last is the output
  std::vector<Tensor<T>> G_;  // G_[l]: dLoss/dZ_[l], built from dLoss/dA_[l] in place
  // Dropout: D_[l] = A_[l] * M_[l] is what layer l+1 reads while training.
  std::vector<double> dropout_;
  std::vector<Tensor<T>> M_, D_;
  Rng dropout_rng_{0};
  std::vector<std::uint64_t> draws_;  // this batch's draw per hidden layer
  std::vector<T> row_loss_;           // loss of each row of the batch
  // With a Fill: each core's copy of the batch, and whether that core wrote it this step
  // (a core that did not, say when the pool ran every task on one thread, reads copy 0).
  std::vector<Tensor<T>> inputs_;
  std::vector<std::uint8_t> filled_;
  bool dropping_ = false;  // the last forward pass applied dropout
  double smoothing_ = 0;
};

}  // namespace digitnet
