#include "digitnet/train/optimizer.hpp"

#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "kernels/vector_ops.hpp"

namespace digitnet {

OptimizerConfig::Kind parse_optimizer(std::string_view name) {
  if (name == "sgd") return OptimizerConfig::sgd;
  if (name == "momentum") return OptimizerConfig::momentum;
  if (name == "nesterov") return OptimizerConfig::nesterov;
  if (name == "adam") return OptimizerConfig::adam;
  if (name == "adamw") return OptimizerConfig::adamw;
  throw SettingError("optimizer", fmt::format("'{}' is not one of sgd, momentum, nesterov, adam or adamw", name));
}

std::string to_string(OptimizerConfig::Kind kind) {
  static const char* names[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
  return names[kind];
}

// Buffers only where the rule has them: plain SGD none, momentum one, Adam two.
template <class T>
Optimizer<T>::Optimizer(OptimizerConfig config, const Network<T>& net)
    : config_(config),
      s_{0, AlignedVector<T>(config.kind == OptimizerConfig::sgd ? 0 : net.layers.parameters().size(), T(0)),
         AlignedVector<T>(config.kind >= OptimizerConfig::adam ? net.layers.parameters().size() : 0, T(0))} {}

template <class T>
void Optimizer<T>::update(std::span<T> p, std::span<const T> g, std::span<T> m, std::span<T> v, double lr) {
  const OptimizerConfig& c = config_;
  if constexpr (std::is_same_v<T, float>) {  // SIMD kernels on every core for the float networks
    if (c.kind == OptimizerConfig::adam || c.kind == OptimizerConfig::adamw) {
      const bool decoupled = c.kind == OptimizerConfig::adamw;
      const AdamStep s{static_cast<float>(decoupled ? 1 - lr * c.weight_decay : 1.0),
                       static_cast<float>(decoupled ? 0.0 : c.weight_decay),
                       static_cast<float>(c.beta1),
                       static_cast<float>(c.beta2),
                       static_cast<float>(lr / (1 - std::pow(c.beta1, double(s_.t)))),
                       static_cast<float>(std::sqrt(1 - std::pow(c.beta2, double(s_.t)))),
                       static_cast<float>(c.eps)};
      return adam_update(p.size(), p.data(), g.data(), m.data(), v.data(), s);
    }
    if (c.kind != OptimizerConfig::sgd) {
      const MomentumStep s{static_cast<float>(lr), static_cast<float>(c.momentum_factor),
                           static_cast<float>(c.weight_decay), c.kind == OptimizerConfig::nesterov, s_.t == 1};
      return momentum_update(p.size(), p.data(), g.data(), m.data(), s);
    }
  }
  const T wd = T(c.weight_decay), mu = T(c.momentum_factor), eta = T(lr);
  switch (c.kind) {
    case OptimizerConfig::sgd:
      for (std::size_t i = 0; i < p.size(); ++i) p[i] -= eta * (g[i] + wd * p[i]);
      break;
    case OptimizerConfig::momentum:
    case OptimizerConfig::nesterov:
      for (std::size_t i = 0; i < p.size(); ++i) {
        const T gi = g[i] + wd * p[i];
        m[i] = s_.t == 1 ? gi : mu * m[i] + gi;  // PyTorch starts the buffer at the first gradient
        p[i] -= eta * (c.kind == OptimizerConfig::nesterov ? gi + mu * m[i] : m[i]);
      }
      break;
    case OptimizerConfig::adam:
    case OptimizerConfig::adamw: {
      const T b1 = T(c.beta1), b2 = T(c.beta2), eps = T(c.eps);
      const T correction1 = T(1) - std::pow(b1, T(s_.t)), correction2 = T(1) - std::pow(b2, T(s_.t));
      const T step = eta / correction1, root2 = std::sqrt(correction2);
      for (std::size_t i = 0; i < p.size(); ++i) {
        T gi = g[i];
        if (c.kind == OptimizerConfig::adamw) p[i] *= T(1) - eta * wd;  // decoupled weight decay
        else gi += wd * p[i];
        m[i] = b1 * m[i] + (T(1) - b1) * gi;
        v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
        p[i] -= step * m[i] / (std::sqrt(v[i]) / root2 + eps);
      }
      break;
    }
  }
}

template <class T>
void Optimizer<T>::restore(OptimizerState<T> s) {
  if (s.t < 0 || s.m.size() != s_.m.size() || s.v.size() != s_.v.size())
    throw Error("the optimizer's state does not fit this network");
  s_ = std::move(s);
}

template <class T>
void Optimizer<T>::step(Network<T>& net, double lr) {
  ++s_.t;
  update(net.layers.parameters(), net.layers.gradients(), s_.m, s_.v, lr);
}

template class Optimizer<float>;
template class Optimizer<double>;

}  // namespace digitnet
