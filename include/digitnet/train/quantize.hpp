#pragma once
// int8 inference (--quantize int8): a trained float network turned into int8 weights, for
// predictions only (docs/performance.md, "int8 inference", has its accuracy and speed).
//
//   weights  int8, one scale per output unit: scale_j = max_k |w_jk| / 127, q = round(w / scale)
//   inputs   uint8 per example: a pixel in [0, 1] is round(255 x) (a dataset's bytes are read
//            as they are); values outside [0, 1] widen that example's range; zscore inputs are
//            normalised in float first and quantized on their example's range
//   hidden   each example's activations quantized on their own range, in 255 steps, when they
//            are computed (no calibration data needed, nothing stored in the model file)
//   output   the last layer's sums back to float, then softmax (or sigmoid) in float
// The integer products are exact, so the results are the same bits on every CPU, kernel and
// thread count, and equal to forward_reference (plain loops).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "digitnet/core/dataset.hpp"
#include "digitnet/core/matrix.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/metrics.hpp"
#include "digitnet/train/normalize.hpp"

namespace digitnet {

struct QuantizedLayer;  // src/kernels/qgemm.hpp

// The precision inference runs in: "float32" (the default) or "int8". Throws SettingError
// naming quantize for anything else.
enum class Precision { float32, int8 };
Precision parse_precision(std::string_view name);

class QuantizedNetwork {
 public:
  QuantizedNetwork(const Network<float>& net, const Normalizer& norm);
  QuantizedNetwork(const QuantizedNetwork& other);  // shares the weights; buffers of its own
  QuantizedNetwork& operator=(const QuantizedNetwork&) = delete;
  ~QuantizedNetwork();

  const Architecture& arch() const { return arch_; }

  // Output activations (rows, classes) of rows of pixel values in [0, 1]; valid until the next
  // call.
  Matrix<const float> forward(Matrix<const float> X01);
  // The same for rows `indices` of a dataset (its bytes, or its float features / pixel_max).
  Matrix<const float> forward(const Dataset& data, std::span<const std::size_t> indices);
  // The definition in plain loops: same bits as forward.
  Matrix<const float> forward_reference(Matrix<const float> X01);

  // The layers' kernels were chosen when the network was built; after use_vnni (tests), repack.
  void repack();

 private:
  struct Shared;
  Matrix<const float> forward01(Matrix<const float> X01, bool reference);
  Matrix<const float> run(int rows, bool reference);

  Architecture arch_;
  std::shared_ptr<Shared> shared_;
  // This copy's buffers: the uint8 input of each layer, its rows' scales and zero points, and
  // the float sums of the layer in work.
  std::vector<AlignedVector<std::uint8_t>> in_;
  std::vector<std::vector<float>> scale_;
  std::vector<std::vector<std::int32_t>> zp_;
  AlignedVector<float> z_;
  Tensor<float> out_, x01_, normalized_;
};

// Forward passes over blocks of `batch` rows, the cores sharing the blocks out.
Predictions predict_dataset(QuantizedNetwork& net, const Dataset& data, int batch = 128);
// One image (values in [0, 1]) to its output probabilities.
std::vector<float> predict_one(QuantizedNetwork& net, std::span<const float> x01);

}  // namespace digitnet
