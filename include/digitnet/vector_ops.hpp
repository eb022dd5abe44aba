#pragma once
// Elementwise kernels on long float arrays (SIMD, dispatched at run time, split between
// threads when long enough). Each element's result does not depend on the split.
#include <cstddef>
#include <cstdint>

namespace digitnet {

// y[i] += alpha * x[i]
void axpy(std::size_t n, float alpha, const float* x, float* y);
// dst[i] = src[i] * scale
void bytes_to_floats(std::size_t n, const std::uint8_t* src, float scale, float* dst);
// a = max(z, 0);  dz = da where z > 0, else 0 (da and dz may alias)
void relu_forward(std::size_t n, const float* z, float* a);
void relu_backward(std::size_t n, const float* z, const float* da, float* dz);

}  // namespace digitnet
