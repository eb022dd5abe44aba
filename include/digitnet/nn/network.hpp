#pragma once
// A Network owns its dense layers and the buffers of the forward and backward passes.
// Hidden layers use one activation; the output layer is fixed by the loss (softmax for ce,
// sigmoid for mse). docs/math.md derives every equation; network.cpp runs them in order.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/core/batch.hpp"
#include "digitnet/core/matrix.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/core/rng.hpp"
#include "digitnet/nn/activation.hpp"
#include "digitnet/nn/dense.hpp"
#include "digitnet/nn/init.hpp"
#include "digitnet/nn/loss.hpp"

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

  // Inverted dropout on the hidden layers while training (p[l] for hidden layer l; one value
  // applies to all): each unit is kept with probability 1 - p and scaled by 1 / (1 - p).
  // Never applied in forward(). The masks come from their own seeded stream.
  void set_dropout(std::vector<double> p, std::uint64_t seed);
  // Label smoothing s in [0, 1) for the cross-entropy loss while training (loss.hpp).
  void set_label_smoothing(double s);
  // The dropout masks' generator, to store it in a checkpoint and go on with the same masks.
  Rng& dropout_rng() { return dropout_rng_; }
  const Rng& dropout_rng() const { return dropout_rng_; }

  // Inference: the output activations (B, classes), valid until the next call.
  Matrix<const T> forward(Matrix<const T> X);

  // What a training step does with each layer's sums over the batch: given the layer, what it
  // read in the forward pass (X or A_{l-1}; D_{l-1} under dropout) and dZ_l, for a share of its
  // units. gradients() keeps dW and db for an optimizer; train/sgd.hpp fuses plain SGD in.
  using WeightSums = FunctionRef<void(Dense<T>& layer, Matrix<const T> input, Matrix<const T> dZ, Units units)>;
  // dW, db into every layer's dWt, db; added to them with accumulate (a batch in chunks).
  static WeightSums gradients(bool accumulate);

  // One training step on a batch, or on a chunk of rows of a batch of `batch` examples (the loss
  // is the mean over the whole batch): forward, loss, backward, then `sums` for every layer.
  // Returns this chunk's share of the batch-mean loss; output() holds its predictions.
  // first_row: where X's rows start in the chunk its dropout masks are drawn for (a process's
  // share of a chunk, in data-parallel training: train/distributed.hpp).
  T train_step(const Batch<T>& X, std::span<const int> labels, int batch, WeightSums sums, int first_row = 0);
  // Advances the dropout stream as one train_step does, for a chunk another process takes.
  void skip_train_step();
  // Forward, loss and backward on the batch X: dW and db of every layer. Returns the mean loss.
  T forward_backward(Matrix<const T> X, std::span<const int> labels) {
    return train_step(X, labels, X.rows, gradients(false));
  }

  Matrix<const T> output() const { return A_.back().view(); }
  Matrix<const T> logits() const { return Z_.back().view(); }

  std::size_t parameter_count() const;

 private:
  void start(const Batch<T>& X, bool training);
  void first_layer_forward();
  void forward_rows(int r0, int r1, bool output);
  void backward_rows(std::span<const int> labels, int batch, int r0, int r1);
  Matrix<const T> layer_input(int l);  // what layer l reads: X, A_{l-1}, or D_{l-1} under dropout
  bool dropped(int l) const { return dropping_ && dropout_[l] > 0; }  // hidden layer l has a mask

  Architecture arch_;
  CoreCopies<T> input_;       // the batch X, as each core reads it
  std::vector<Tensor<T>> Z_;  // Z_[l]: pre-activation of layer l (B, sizes[l+1])
  std::vector<Tensor<T>> A_;  // A_[l]: activation of layer l; the last is the output
  std::vector<Tensor<T>> G_;  // G_[l]: dLoss/dZ_[l], built from dLoss/dA_[l] in place
  // Dropout: D_[l] = A_[l] * M_[l] is what layer l+1 reads while training.
  std::vector<double> dropout_;
  std::vector<Tensor<T>> M_, D_;
  Rng dropout_rng_{0};
  std::vector<std::uint64_t> draws_;  // this batch's draw per hidden layer
  std::vector<T> row_loss_;           // loss of each row of the batch
  bool dropping_ = false;             // this pass applies dropout
  int first_row_ = 0;                 // train_step's first_row
  double smoothing_ = 0;
};

}  // namespace digitnet
