#pragma once
// A fully-connected layer, Z = X W^T + b (docs/math.md §2).
// W is (fan_out, fan_in) as in PyTorch, the seeds and the model file; the layer keeps its
// transpose Wt = W^T (fan_in, fan_out), so that every product reads contiguous rows:
//   forward   Z   = X Wt + b       (B, in) (in, out)       -> (B, out)
//   backward  dWt = X^T dZ         (B, in)^T (B, out)      -> (in, out)    [dW = dZ^T X]
//             db  = sum_b dZ                                -> (out)
//             dX  = dZ Wt^T = dZ W (B, out) (out, in)      -> (B, in)
// Each function below has a plain reference beside it (the _reference ones: the definition,
// in loops); the fast ones run the kernels and give the same values bit for bit.
#include <algorithm>
#include <span>
#include <vector>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

template <class T>
struct Dense {
  // Views into the buffers of the DenseLayers that holds the layer (below).
  Matrix<T> Wt;   // W^T, (in, out)
  Matrix<T> b;    // (1, out)
  Matrix<T> dWt;  // dLoss/dWt for the batch-mean loss, (in, out)
  Matrix<T> db;   // (1, out)
  // Batch normalization of the product (nn/batch_norm.hpp), on the hidden layers of a network
  // that has it; empty views otherwise:  Y = gamma (Z - mean) / sqrt(var + eps) + beta.
  Matrix<T> gamma, beta, dgamma, dbeta;  // (1, out) each
  // Its running statistics (for inference), and in the gradient buffer the step's own: the
  // sums over its rows of each unit's batch mean and unbiased variance, times the rows.
  Matrix<T> running_mean, running_var, batch_mean, batch_var;

  int in() const { return Wt.rows; }
  int out() const { return Wt.cols; }
  bool normalized() const { return gamma.data != nullptr; }

  // W and dW in PyTorch's (out, in) row-major layout, for files and tests.
  std::vector<T> W() const { return transposed(Wt); }
  std::vector<T> dW() const { return transposed(dWt); }
  void set_W(std::span<const T> w) const {  // w: (out, in) row-major
    for (int o = 0; o < out(); ++o)
      for (int i = 0; i < in(); ++i) Wt(i, o) = w[static_cast<std::size_t>(o) * in() + i];
  }
  void set_b(std::span<const T> bias) const { std::copy(bias.begin(), bias.end(), b.data); }

 private:
  static std::vector<T> transposed(Matrix<const T> t) {
    std::vector<T> out(t.size());
    for (int r = 0; r < t.rows; ++r)
      for (int c = 0; c < t.cols; ++c) out[static_cast<std::size_t>(c) * t.rows + r] = t(r, c);
    return out;
  }
};

// The layers of a network, n_0 -> n_1 -> ... -> n_D: every parameter in one buffer and every
// gradient in another (as llm.c's params_memory and grads_memory), each layer's W^T, b, dW^T
// and db a view into them. One buffer makes an optimizer step, a gradient norm and the sum of
// gradients across processes one pass over one array. Each view starts on a cache line (the
// gaps hold zeros), so cores that split a layer's rows never share a line.
// With batch normalization the hidden layers' gamma and beta follow their b, and after every
// trainable parameter come the running statistics (mean, var of each normalized layer), whose
// "gradients" are a step's batch statistics: summed across processes with the gradients.
template <class T>
class DenseLayers {
 public:
  DenseLayers() = default;
  explicit DenseLayers(std::span<const int> sizes, bool batch_norm = false);
  DenseLayers(const DenseLayers& other);
  DenseLayers& operator=(const DenseLayers& other);
  DenseLayers(DenseLayers&&) noexcept = default;  // the buffers move, so the views stay valid
  DenseLayers& operator=(DenseLayers&&) noexcept = default;

  std::size_t size() const { return layers_.size(); }
  Dense<T>& operator[](std::size_t l) { return layers_[l]; }
  const Dense<T>& operator[](std::size_t l) const { return layers_[l]; }
  auto begin() { return layers_.begin(); }
  auto end() { return layers_.end(); }
  auto begin() const { return layers_.begin(); }
  auto end() const { return layers_.end(); }

  bool batch_norm() const { return batch_norm_; }
  // What an optimizer steps and a gradient norm measures: the trainable parameters.
  std::span<T> parameters() { return {values_.data(), trainable_}; }
  std::span<const T> parameters() const { return {values_.data(), trainable_}; }
  std::span<T> gradients() { return {gradients_.data(), trainable_}; }
  std::span<const T> gradients() const { return {gradients_.data(), trainable_}; }
  // All of it, the running statistics included (what a copy of the weights keeps), and the
  // gradients with the batch statistics (what processes sum).
  std::span<T> values() { return values_; }
  std::span<const T> values() const { return values_; }
  std::span<T> all_gradients() { return {gradients_.data(), values_.size()}; }
  std::span<const T> all_gradients() const { return {gradients_.data(), values_.size()}; }
  // The gradients and kTail spare numbers after them: a sum of the gradients across processes
  // sends a batch's totals (its loss, right answers) in the same call.
  static constexpr std::size_t kTail = 16;
  std::span<T> gradients_and_tail() { return gradients_; }
  // Each tensor's place in the buffers (W^T, b (gamma, beta) of each layer, then the running
  // statistics), in order.
  struct Slot {
    std::size_t offset, size;
  };
  const std::vector<Slot>& slots() const { return slots_; }

 private:
  void bind();
  std::vector<int> sizes_;
  bool batch_norm_ = false;
  std::size_t trainable_ = 0;
  std::vector<Slot> slots_;
  AlignedVector<T> values_, gradients_;
  std::vector<Dense<T>> layers_;
};

// A share of a layer's units, for work split between cores: input units [i0, i1) (rows of
// Wt and dWt) and output units [j0, j1) (columns of Z, entries of b and db); -1: to the end.
struct Units {
  int i0 = 0, i1 = -1;
  int j0 = 0, j1 = -1;
};

// Z = X W^T + b, the columns of units.j0 .. j1.   X: (B, in)  Z: (B, out)
// With input units i0 .. i1, only their terms: from the bias when i0 is 0, else added to Z,
// which holds the sum of the inputs before i0 (the same FMAs, in order, as all at once).
template <class T>
void dense_forward(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z, Units units = {});
// P = X W^T over input units i0 .. i1 alone, from zero (no bias), columns j0 .. j1: the second
// part of a training step's Z_1 = P_0 + P_1 (kernels/split.hpp, first_layer_part).
template <class T>
void dense_forward_terms(const Dense<T>& layer, Matrix<const T> X, Matrix<T> P, Units units);
// dX = dZ W.   dZ: (B, out)  dX: (B, in)
template <class T>
void dense_backward_input(const Dense<T>& layer, Matrix<const T> dZ, Matrix<T> dX);
// dWt = X^T dZ for the input units i0 .. i1, db = sum_b dZ for the output units j0 .. j1
// (added to dWt and db with accumulate: a batch in chunks).
template <class T>
void dense_backward_weights(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, bool accumulate = false,
                            Units units = {});

// The definitions, as plain loops: each sum over its terms in order, one fused multiply-add
// per term (db: one addition per term), which is what the kernels compute.
template <class T>
void dense_forward_reference(const Dense<T>& layer, Matrix<const T> X, Matrix<T> Z);
// dWt, db and (unless dX is empty) dX of the batch.
template <class T>
void dense_backward_reference(Dense<T>& layer, Matrix<const T> X, Matrix<const T> dZ, Matrix<T> dX);

}  // namespace digitnet
