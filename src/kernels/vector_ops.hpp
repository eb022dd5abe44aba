#pragma once
// Elementwise kernels on long float arrays (SIMD, dispatched at run time, split between
// threads when long enough). Each element's result does not depend on the split.
#include <cstddef>
#include <cstdint>

namespace digitnet {

// One optimizer step's constants (see optimizer.hpp).
struct AdamStep {
  float decay;                           // 1 - lr wd for adamw, else 1
  float coupled_wd;                      // wd for adam, else 0
  float beta1, beta2, step, root2, eps;  // step = lr / (1 - beta1^t), root2 = sqrt(1 - beta2^t)
};
struct MomentumStep {
  float lr, mu, wd;
  bool nesterov, first;  // first: the buffer starts at the gradient
};
void adam_update(std::size_t n, float* p, const float* g, float* m, float* v, const AdamStep& s);
void momentum_update(std::size_t n, float* p, const float* g, float* buf, const MomentumStep& s);

// dst[i] = src[i] * scale
void bytes_to_floats(std::size_t n, const std::uint8_t* src, float scale, float* dst);
// a = max(z, 0);  dz = da where z > 0, else 0 (da and dz may alias)
void relu_forward(std::size_t n, const float* z, float* a);
void relu_backward(std::size_t n, const float* z, const float* da, float* dz);

}  // namespace digitnet
