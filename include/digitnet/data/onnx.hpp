#pragma once
// ONNX export: a network and its input normalisation as an ONNX graph (opset 13), so that
// ONNX Runtime and other inference engines run digitnet's models.
//   input "input"           float32 (N, features): the values the model's data holds
//                           (pixels 0..255 for the 28x28 sets, 0..16 for the 8x8 digits)
//   Mul 1/pixel_max         [Sub input_mean, Div input_std for zscore]   as Normalizer::gather
//   Gemm (W transposed) + Relu | Sigmoid | Tanh, per hidden layer
//   Gemm + Softmax (ce) | Sigmoid (mse)  -> output "probabilities" float32 (N, classes)
//   ArgMax                               -> output "label" int64 (N)
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "digitnet/nn/network.hpp"
#include "digitnet/train/normalize.hpp"

namespace digitnet {

constexpr int kOnnxOpset = 13;
constexpr int kOnnxIrVersion = 7;  // the IR version that came with opset 13 (ONNX 1.8)

struct OnnxInfo {
  std::string doc;                                            // the model's doc_string
  std::vector<std::pair<std::string, std::string>> metadata;  // metadata_props, e.g. {"classes", "[...]"}
};

std::vector<std::uint8_t> onnx_model(const Network<float>& net, const Normalizer& norm, const OnnxInfo& info = {});
// Writes onnx_model(...) to path atomically (temp file, fsync, rename).
void save_onnx(const std::string& path, const Network<float>& net, const Normalizer& norm, const OnnxInfo& info = {});

}  // namespace digitnet
