#include "digitnet/train/distributed.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"

namespace digitnet {

Reduction parse_reduction(std::string_view text) {
  if (text == "ordered") return Reduction::ordered;
  if (text == "exact") return Reduction::exact;
  throw SettingError("reduce", fmt::format("'{}' is not one of ordered or exact", text));
}

std::string to_string(Reduction r) { return r == Reduction::exact ? "exact" : "ordered"; }

int exponent_bound(std::span<const float> values) {
  float top = 0;
  for (float v : values) {
    const float a = std::fabs(v);
    if (!(a <= std::numeric_limits<float>::max())) return kNotFinite;  // also NaN
    top = std::max(top, a);
  }
  if (top == 0) return kAllZero;
  int e = 0;
  std::frexp(top, &e);  // top = m 2^e with m in [0.5, 1): top < 2^e
  return e;
}

void add_on_grid(std::span<const float> values, int e, long terms, std::span<double> sums) {
  if (e == kAllZero) return;
  if (e >= kNotFinite) {
    for (std::size_t i = 0; i < values.size(); ++i) sums[i] += values[i];
    return;
  }
  // terms values of magnitude at most 2^e sum to at most 2^(e + t): on a grid of
  // q = 2^(e + t - 52) that is at most 2^52 steps, which a double holds exactly.
  const int t = std::max(1, static_cast<int>(std::bit_width(static_cast<unsigned long>(std::max(1L, terms) - 1))));
  // v + C rounds v to a multiple of q (C lies where doubles are q apart: |v| < 2^51 q),
  // and subtracting C again is exact.
  const double C = std::ldexp(1.5, e + t);
  for (std::size_t i = 0; i < values.size(); ++i) {
    sums[i] += (double(values[i]) + C) - C;  // not v: no -ffast-math
  }
}

}  // namespace digitnet
