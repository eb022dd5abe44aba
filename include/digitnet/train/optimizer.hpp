#pragma once
// Optimizers, with PyTorch's semantics so the reference files match (docs/math.md,
// "Optimizers"). g is a parameter's gradient, p the parameter, lr the learning rate.
//   sgd       p -= lr (g + wd p)
//   momentum  b = mu b + (g + wd p)  (b = g + wd p on the first step);  p -= lr b
//   nesterov  as momentum, then p -= lr (g + wd p + mu b)
//   adam      g += wd p;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//             p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps)
//   adamw     p *= 1 - lr wd, then adam without wd in g
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/nn/network.hpp"

namespace digitnet {

struct OptimizerConfig {
  enum Kind { sgd, momentum, nesterov, adam, adamw } kind = sgd;
  double momentum_factor = 0.9;  // mu
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0;
};

OptimizerConfig::Kind parse_optimizer(std::string_view name);  // throws SettingError naming optimizer
std::string to_string(OptimizerConfig::Kind kind);

// What an optimizer carries from step to step: the step count and, for every parameter (laid
// out as the network's parameter buffer), the momentum buffer or first moment m and the
// second moment v.
template <class T>
struct OptimizerState {
  long t = 0;
  AlignedVector<T> m, v;
};

template <class T>
class Optimizer {
 public:
  Optimizer(OptimizerConfig config, const Network<T>& net);
  // One update of every parameter from its gradient, with this step's learning rate: one pass
  // over the network's parameter buffer (the padding between its tensors stays zero).
  void step(Network<T>& net, double lr);
  const OptimizerConfig& config() const { return config_; }
  const OptimizerState<T>& state() const { return s_; }
  void restore(OptimizerState<T> s);  // throws Error if its buffers do not fit the network
  // Plain SGD without weight decay: its step can be taken inside the backward pass
  // (sgd_step_fused), with no gradient stored.
  bool is_plain_sgd() const { return config_.kind == OptimizerConfig::sgd && config_.weight_decay == 0; }

 private:
  void update(std::span<T> p, std::span<const T> g, std::span<T> m, std::span<T> v, double lr);
  OptimizerConfig config_;
  OptimizerState<T> s_;  // steps taken; momentum buffer / first moment, second moment
};

}  // namespace digitnet
