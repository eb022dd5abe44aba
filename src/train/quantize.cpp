#include "digitnet/train/quantize.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "kernels/qgemm.hpp"
#include "kernels/split.hpp"
#include "predict_blocks.hpp"

namespace digitnet {

Precision parse_precision(std::string_view name) {
  if (name == "float32" || name == "fp32" || name == "none") return Precision::float32;
  if (name == "int8") return Precision::int8;
  throw SettingError("quantize", fmt::format("'{}' is not one of float32 or int8", name));
}

struct QuantizedNetwork::Shared {
  std::vector<QuantizedLayer> layers;
  // zscore: inputs are (x - mean) / std, quantized per example like a hidden layer's. (Folded
  // into the first layer's weights instead, a rare pixel's small std made its weights the
  // largest, and every other weight of its unit lost its precision to them.)
  std::vector<float> mean, std;
  float pixel_max = 255;  // the normaliser's: x = value / pixel_max
};

QuantizedNetwork::QuantizedNetwork(const Network<float>& net, const Normalizer& norm)
    : arch_(net.arch()), shared_(std::make_shared<Shared>()) {
  const int L = arch_.depth();
  Network<float> folded = net;  // batch normalization, folded into the layers as inference runs it
  const DenseLayers<float>& layers = folded.inference_layers();
  for (int l = 0; l < L; ++l) shared_->layers.push_back(QuantizedLayer::from_float(layers[l].Wt, layers[l].b.data));
  shared_->pixel_max = norm.pixel_max;
  if (norm.kind == Normalizer::zscore) {
    shared_->mean = norm.mean;
    shared_->std = norm.std;
  }
  in_.resize(L);
  scale_.resize(L);
  zp_.resize(L);
}

QuantizedNetwork::QuantizedNetwork(const QuantizedNetwork& other) : arch_(other.arch_), shared_(other.shared_) {
  const int L = arch_.depth();
  in_.resize(L);
  scale_.resize(L);
  zp_.resize(L);
}

QuantizedNetwork::~QuantizedNetwork() = default;

void QuantizedNetwork::repack() {
  for (auto& l : shared_->layers) l.pack();
}

// in_[0], scale_[0], zp_[0] hold the rows' quantized inputs: every layer after it.
Matrix<const float> QuantizedNetwork::run(int rows, bool reference) {
  const auto& layers = shared_->layers;
  const int L = static_cast<int>(layers.size());
  out_.resize(rows, arch_.classes());
  for (int l = 0; l < L; ++l) {
    const QuantizedLayer& w = layers[l];
    z_.resize(static_cast<std::size_t>(rows) * w.Np);
    (reference ? qgemm_reference : qgemm)(in_[l].data(), w.Kp, rows, zp_[l].data(), scale_[l].data(), w, z_.data(),
                                          w.Np);
    const Matrix<float> Z(z_.data(), rows, w.N, w.Np);
    if (l + 1 == L) {
      output_forward<float>(arch_.loss, Z, out_.view());
      break;
    }
    if (arch_.hidden == Activation::relu)  // the padding columns are 0 and stay 0: one contiguous pass
      activation_forward<float>(arch_.hidden, Matrix<const float>(z_.data(), rows, w.Np),
                                Matrix<float>(z_.data(), rows, w.Np));
    else activation_forward<float>(arch_.hidden, Z, Z);
    const int width = layers[l + 1].Kp;
    in_[l + 1].resize(static_cast<std::size_t>(rows) * width);
    scale_[l + 1].resize(rows);
    zp_[l + 1].resize(rows);
    (reference ? quantize_rows_reference : quantize_rows)(z_.data(), w.Np, rows, w.N, 0.0f, 0.0f, in_[l + 1].data(),
                                                          width, width, scale_[l + 1].data(), zp_[l + 1].data());
  }
  return out_.view();
}

Matrix<const float> QuantizedNetwork::forward(Matrix<const float> X01) { return forward01(X01, false); }

Matrix<const float> QuantizedNetwork::forward_reference(Matrix<const float> X01) { return forward01(X01, true); }

Matrix<const float> QuantizedNetwork::forward01(Matrix<const float> X01, bool reference) {
  if (X01.cols != arch_.inputs())
    throw Error(fmt::format("input has {} values per example but the network expects {}", X01.cols, arch_.inputs()));
  const int width = shared_->layers[0].Kp, rows = X01.rows;
  in_[0].resize(static_cast<std::size_t>(rows) * width);
  scale_[0].resize(rows);
  zp_[0].resize(rows);
  // Pixels in [0, 1] keep that range (255 steps: a byte's own value); z-scores their row's range.
  float lo = 0.0f, hi = 1.0f;
  if (!shared_->mean.empty()) {
    const int F = X01.cols;
    normalized_.resize(rows, F);
    for (int r = 0; r < rows; ++r)
      for (int f = 0; f < F; ++f) normalized_(r, f) = (X01(r, f) - shared_->mean[f]) / shared_->std[f];
    X01 = normalized_.view();
    hi = 0.0f;
  }
  (reference ? quantize_rows_reference : quantize_rows)(X01.data, X01.stride, rows, X01.cols, lo, hi, in_[0].data(),
                                                        width, width, scale_[0].data(), zp_[0].data());
  return run(rows, reference);
}

Matrix<const float> QuantizedNetwork::forward(const Dataset& data, std::span<const std::size_t> indices) {
  const int F = arch_.inputs();
  if (data.features() != F)
    throw Error(fmt::format("input has {} values per example but the network expects {}", data.features(), F));
  const int rows = static_cast<int>(indices.size()), width = shared_->layers[0].Kp;
  const float pixel_max = shared_->pixel_max;
  if (data.has_floats() || pixel_max != 255.0f || !shared_->mean.empty()) {  // x = value / pixel_max, quantized
    x01_.resize(rows, F);
    const float inv = 1.0f / pixel_max;  // as Normalizer::gather
    for (int r = 0; r < rows; ++r) {
      float* x = x01_.view().row(r);
      if (data.has_floats()) {
        const float* v = data.floats(indices[r]);
        for (int f = 0; f < F; ++f) x[f] = v[f] * inv;
      } else {
        const std::uint8_t* v = data.image(indices[r]);
        for (int f = 0; f < F; ++f) x[f] = float(v[f]) * inv;
      }
    }
    return forward01(x01_.view(), false);
  }
  // Bytes of 0..255 are their own quantized values: round(255 (p / 255)) = p, scale 1/255, zero point 0.
  in_[0].resize(static_cast<std::size_t>(rows) * width);
  scale_[0].assign(rows, (1.0f - 0.0f) / 255.0f);
  zp_[0].assign(rows, 0);
  for (int r = 0; r < rows; ++r) {
    std::uint8_t* q = in_[0].data() + static_cast<std::size_t>(r) * width;
    std::memcpy(q, data.image(indices[r]), F);
    std::fill(q + F, q + width, std::uint8_t{0});
  }
  return run(rows, false);
}

Predictions predict_dataset(QuantizedNetwork& net, const Dataset& data, int batch) {
  // An int8 multiply-add costs about a quarter of a float one (four to a lane per instruction).
  double per_row = 0;
  for (std::size_t l = 0; l + 1 < net.arch().sizes.size(); ++l)
    per_row += double(net.arch().sizes[l]) * net.arch().sizes[l + 1] / 4;
  return predict_blocks(net, data.size(), net.arch().classes(), batch, per_row,
                        [&](QuantizedNetwork& model, std::span<const std::size_t> idx, Tensor<float>&) {
                          return model.forward(data, idx);  // reads the bytes itself
                        });
}

std::vector<float> predict_one(QuantizedNetwork& net, std::span<const float> x01) {
  const int F = net.arch().inputs();
  if (static_cast<int>(x01.size()) != F)
    throw Error(fmt::format("the image has {} values but the model takes {}", x01.size(), F));
  const Matrix<const float> out = net.forward(Matrix<const float>(x01.data(), 1, F));
  return {out.row(0), out.row(0) + out.cols};
}

}  // namespace digitnet
