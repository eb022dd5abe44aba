#pragma once
// Turning stored bytes (or a dataset's float features) into network inputs (docs/math.md, "Inputs").
//   scale:  x = pixel / pixel_max                      in [0, 1] for pixels
//   zscore: x = (pixel / pixel_max - mean) / std       per feature, fitted on training data
// Features with (near) zero spread get std = 1, so constant pixels map to 0.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/core/matrix.hpp"

namespace digitnet {

struct Normalizer {
  enum Kind { scale, zscore } kind = scale;
  float pixel_max = 255;
  std::vector<float> mean, std;  // zscore only, one per feature

  // Fitted on the training part: zscore's means and spreads; for float features (from Python)
  // that are intensities above 1 (no value below 0), pixel_max is their largest value.
  static Normalizer fit(Kind kind, const Dataset& train);
  static Kind parse_kind(std::string_view name);  // "scale" or "zscore"; throws SettingError naming normalize
  std::string kind_name() const { return kind == scale ? "scale" : "zscore"; }

  // One example: from values already in [0, 1] (an image from predict) to inputs.
  void apply01(std::span<const float> x01, std::span<float> out) const;
  // Rows `indices` of the dataset into the batch X (indices.size(), features); or, with `first`,
  // only features first .. first + X.cols (X is those columns of a batch).
  template <class T>
  void gather(const Dataset& data, std::span<const std::size_t> indices, Matrix<T> X, int first = 0) const;
};

}  // namespace digitnet
