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
  bool batch_norm = false;  // each hidden layer's product normalized before its activation

  int inputs() const { return sizes.front(); }
  int classes() const { return sizes.back(); }
  int depth() const { return static_cast<int>(sizes.size()) - 1; }  // number of dense layers
};

std::string layers_to_string(const std::vector<int>& sizes);

// A training step's examples: X (a whole batch, or a share of one: a chunk of a large batch,
// or one process's part of it) and their labels. The loss is the mean over the `batch` rows
// of the whole batch, so shares' gradients add up to the batch's. Each example's random draws
// (its dropout masks) come from its own stream, keys[i] of the step's `draw`, so an example
// gets the same masks whichever core, chunk or process computes it.
template <class T>
struct Examples {
  Batch<T> X;
  std::span<const int> labels;
  int batch = 0;                      // rows of the whole batch: the loss is their mean
  std::span<const std::size_t> keys;  // one per row of X (the example's index in its dataset)
  std::uint64_t draw = 0;
  bool accumulate = false;  // batch normalization's statistics added to the step's before (as the sums' gradients)
  // The next step's batch (written by a fill) and keys, where the caller knows them and nothing
  // but this step's `sums` (a fused update) changes the weights before that step: its first
  // layer is then computed in this step's last hand-off (Network::train_step). A next step on
  // other keys, or after forward() or weights_changed(), computes its own.
  const Batch<T>* next = nullptr;
  std::span<const std::size_t> next_keys;
};

template <class T>
class Network {
 public:
  explicit Network(Architecture arch);

  const Architecture& arch() const { return arch_; }
  DenseLayers<T> layers;  // every W^T, b, dW^T, db; parameters and gradients in one buffer each

  void init(const Init& init, Rng& rng);

  // Inverted dropout on the hidden layers while training (p[l] for hidden layer l; one value
  // applies to all): each unit is kept with probability 1 - p and scaled by 1 / (1 - p).
  // Never applied in forward(). Throws SettingError naming "dropout".
  void set_dropout(std::vector<double> p);
  // Label smoothing s in [0, 1) for the cross-entropy loss while training (loss.hpp).
  void set_label_smoothing(double s);

  // Inference: the output activations (B, classes), valid until the next call.
  Matrix<const T> forward(Matrix<const T> X);

  // What a training step does with each layer's sums over the batch: given the layer, what it
  // read in the forward pass (X or A_{l-1}; D_{l-1} under dropout) and dZ_l, for a share of its
  // units. gradient_sums() keeps dW and db for an optimizer; train/sgd.hpp fuses plain SGD in.
  using WeightSums = FunctionRef<void(Dense<T>& layer, Matrix<const T> input, Matrix<const T> dZ, Units units)>;
  // dW, db into every layer's dWt, db; added to them with accumulate (a batch in shares).
  static WeightSums gradient_sums(bool accumulate);

  // One training step on the examples: forward, loss, backward, then `sums` for every layer.
  // Returns their share of the batch-mean loss; output() holds their predictions.
  T train_step(const Examples<T>& examples, WeightSums sums);
  // Forward, loss and backward on the whole batch X: dW and db of every layer. Returns the
  // mean loss.
  T forward_backward(Matrix<const T> X, std::span<const int> labels, std::uint64_t draw = 0);

  Matrix<const T> output() const { return A_.back().view(); }
  Matrix<const T> logits() const { return Z_.back().view(); }

  std::size_t parameter_count() const;

  // Batch normalization (nn/batch_norm.hpp): the running statistics moved toward the step's
  // (after the batch's update; `rows`: the rows its statistics add up to); and, for inference
  // and export, the layers with it folded into their weights. Inference folds them again after
  // a training step; a caller that writes the weights itself says so with weights_changed().
  void update_batch_statistics(double rows);
  const DenseLayers<T>& inference_layers();
  void weights_changed() { folded_ = false, ahead_keys_.clear(); }

 private:
  void start(const Batch<T>& X, bool training, bool prepared = false);
  void begin_step(const Examples<T>& ex, bool prepared);      // a training step's inputs, row keys and dropout draws
  bool prepared(const Examples<T>& ex) const;                 // the last step computed this one's Z_1 parts
  T normalized_step(const Examples<T>& ex, WeightSums sums);  // the step of a network with batch normalization
  void first_layer_forward(bool updating);                    // updating: in a training step, W_1 updated after
  void first_layer_terms(const Dense<T>& layer, int part, Matrix<const T> X, int r0, Units units);
  void add_first_layer_parts(int r0, int r1);
  void forward_rows(int r0, int r1, bool output);
  void backward_rows(std::span<const int> labels, int batch, int r0, int r1);
  Matrix<const T> layer_input(int l);  // what layer l reads: X, A_{l-1}, or D_{l-1} under dropout
  bool dropped(int l) const { return dropping_ && dropout_[l] > 0; }  // hidden layer l has a mask

  Architecture arch_;
  CoreCopies<T> input_;       // the batch X, as each core reads it
  std::vector<Tensor<T>> Z_;  // Z_[l]: pre-activation of layer l (B, sizes[l+1])
  std::vector<Tensor<T>> A_;  // A_[l]: activation of layer l; the last is the output
  std::vector<Tensor<T>> G_;  // G_[l]: dLoss/dZ_[l], built from dLoss/dA_[l] in place
  // A training step's Z_1 is summed in two parts over the inputs (kernels/split.hpp): P_0 in
  // Z_[0], P_1 here (B, sizes[1]); add_first_layer_parts adds them.
  Tensor<T> P_;
  // The keys of the examples whose Z_1 parts the last step computed ahead (none: empty).
  std::vector<std::size_t> ahead_keys_;
  // Dropout: D_[l] = A_[l] * M_[l] is what layer l+1 reads while training.
  std::vector<double> dropout_;
  std::vector<Tensor<T>> M_, D_;
  std::vector<std::uint64_t> draws_;   // this step's draw per hidden layer
  std::span<const std::size_t> keys_;  // this step's examples' streams
  std::vector<T> row_loss_;            // loss of each row of the batch
  bool dropping_ = false;              // this pass applies dropout
  double smoothing_ = 0;
  // Batch normalization: Zhat_[l] and inv_std_[l] of hidden layer l; the folded layers and
  // whether they are those of the current weights; the layers inference reads.
  std::vector<Tensor<T>> Zhat_;
  std::vector<std::vector<T>> inv_std_;
  DenseLayers<T> fold_;
  bool folded_ = false;
  const DenseLayers<T>* infer_ = nullptr;
};

}  // namespace digitnet
