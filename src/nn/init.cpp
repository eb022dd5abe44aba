#include "digitnet/nn/init.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

Init parse_init(std::string_view spec) {
  const auto colon = spec.find(':');
  const std::string_view name = spec.substr(0, colon);
  const auto bad = [&] {
    return SettingError("init", fmt::format("'{}' is not one of he, xavier, lecun, normal:SIGMA or uniform:A", spec));
  };
  if (colon == std::string_view::npos) {
    if (name == "he") return {Init::he, 0};
    if (name == "xavier") return {Init::xavier, 0};
    if (name == "lecun") return {Init::lecun, 0};
    throw bad();
  }
  const std::string_view arg = spec.substr(colon + 1);
  double v = 0;
  const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), v);
  // Far beyond 1 every unit saturates or the first step overflows: a typo, not a choice.
  if (ec != std::errc() || end != arg.data() + arg.size() || !(v > 0 && v <= 1000))
    throw SettingError("init", fmt::format("'{}' needs a number in (0, 1000] after ':'", spec));
  if (name == "normal") return {Init::normal, v};
  if (name == "uniform") return {Init::uniform, v};
  throw bad();
}

std::string to_string(const Init& init) {
  switch (init.kind) {
    case Init::he: return "he";
    case Init::xavier: return "xavier";
    case Init::lecun: return "lecun";
    case Init::normal: return fmt::format("normal:{}", init.param);
    case Init::uniform: return fmt::format("uniform:{}", init.param);
  }
  return "?";
}

template <class T>
void init_dense(const Dense<T>& layer, const Init& init, Rng& rng) {
  const double fan_in = layer.in(), fan_out = layer.out();
  double sigma = 0;
  switch (init.kind) {
    case Init::he: sigma = std::sqrt(2.0 / fan_in); break;
    case Init::xavier: sigma = std::sqrt(2.0 / (fan_in + fan_out)); break;
    case Init::lecun: sigma = std::sqrt(1.0 / fan_in); break;
    case Init::normal: sigma = init.param; break;
    case Init::uniform: break;
  }
  for (auto& w : layer.Wt.values())
    w = static_cast<T>(init.kind == Init::uniform ? init.param * (2.0 * rng.uniform() - 1.0) : sigma * rng.normal());
  std::fill(layer.b.values().begin(), layer.b.values().end(), T(0));
}

template void init_dense<float>(const Dense<float>&, const Init&, Rng&);
template void init_dense<double>(const Dense<double>&, const Init&, Rng&);

}  // namespace digitnet
