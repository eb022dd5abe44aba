#include "digitnet/train/normalize.hpp"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "kernels/split.hpp"
#include "kernels/vector_ops.hpp"

namespace digitnet {

Normalizer::Kind Normalizer::parse_kind(std::string_view name) {
  if (name == "scale") return scale;
  if (name == "zscore") return zscore;
  throw SettingError("normalize", fmt::format("'{}' is not one of scale or zscore", name));
}

Normalizer Normalizer::fit(Kind kind, const Dataset& train) {
  Normalizer n;
  n.kind = kind;
  n.pixel_max = train.pixel_max;
  if (train.has_floats()) {
    // Float features: intensities (no value below 0) that go above pixel_max (1 for arrays from
    // Python), like the 8x8 digits' 0..16, are scaled by their largest value, as pixels are by
    // 255; other values are used as given. The model records the scale: predictions scale alike.
    float lo = 0, hi = 0;
    for (std::size_t i = 0; i < train.size(); ++i)
      for (int f = 0; f < train.features(); ++f) {
        lo = std::min(lo, train.floats(i)[f]);
        hi = std::max(hi, train.floats(i)[f]);
      }
    n.pixel_max = lo >= 0 && hi > train.pixel_max && std::isfinite(hi) ? hi : train.pixel_max;
  }
  if (kind == scale) return n;
  const int F = train.features();
  std::vector<double> sum(F, 0.0), sq(F, 0.0);
  const auto add = [&](const auto* px) {
    for (int f = 0; f < F; ++f) {
      const double x = px[f] / double(n.pixel_max);
      sum[f] += x;
      sq[f] += x * x;
    }
  };
  for (std::size_t i = 0; i < train.size(); ++i) {
    if (train.has_floats()) add(train.floats(i));
    else add(train.image(i));
  }
  n.mean.resize(F);
  n.std.resize(F);
  const double count = static_cast<double>(train.size());
  for (int f = 0; f < F; ++f) {
    const double m = sum[f] / count;
    const double var = std::max(0.0, sq[f] / count - m * m);
    n.mean[f] = static_cast<float>(m);
    n.std[f] = var > 1e-12 ? static_cast<float>(std::sqrt(var)) : 1.0f;  // constant pixel: leave it at 0
  }
  return n;
}

void Normalizer::apply01(std::span<const float> x01, std::span<float> out) const {
  for (std::size_t f = 0; f < x01.size(); ++f) out[f] = kind == scale ? x01[f] : (x01[f] - mean[f]) / std[f];
}

template <class T>
void Normalizer::gather(const Dataset& data, std::span<const std::size_t> indices, Matrix<T> X, int first) const {
  if (first < 0 || X.cols < 0 || first + X.cols > data.features() || X.rows != static_cast<int>(indices.size()))
    throw Error(fmt::format("a batch of {} x {} from feature {} does not fit {} rows of {} features", X.rows, X.cols,
                            first, indices.size(), data.features()));
  const int F = X.cols;
  const T inv = T(1) / T(pixel_max);
  const auto rows = [&](std::size_t r0, std::size_t r1) {
    for (std::size_t r = r0; r < r1; ++r) {
      T* x = X.row(static_cast<int>(r));
      if (data.has_floats()) {  // float features (from Python): x = value / pixel_max
        const float* v = data.floats(indices[r]) + first;
        for (int f = 0; f < F; ++f) x[f] = T(v[f]) * inv;
      } else if constexpr (std::is_same_v<T, float>) {
        const std::uint8_t* px = data.image(indices[r]) + first;
        bytes_to_floats(F, px, inv, x);  // SIMD
      } else {
        const std::uint8_t* px = data.image(indices[r]) + first;
        for (int f = 0; f < F; ++f) x[f] = T(px[f]) * inv;
      }
      if (kind == zscore)
        for (int f = 0; f < F; ++f) x[f] = (x[f] - T(mean[first + f])) / T(std[first + f]);
    }
  };
  split_items(indices.size(), double(F) * cost::kByteToFloat, rows);
}

template void Normalizer::gather<float>(const Dataset&, std::span<const std::size_t>, Matrix<float>, int) const;
template void Normalizer::gather<double>(const Dataset&, std::span<const std::size_t>, Matrix<double>, int) const;

}  // namespace digitnet
