#pragma once
// Inverted dropout on a hidden layer while training (docs/math.md, "Inverted dropout"):
//   forward:   M = [u < keep] / keep,  D = A * M      (u uniform, keep = 1 - p)
//   backward:  dA = dD * M
// Kept units are scaled by 1 / keep so that E[D] = A and inference uses A unchanged.
#include <cstddef>
#include <cstdint>
#include <span>

#include "digitnet/core/matrix.hpp"

namespace digitnet {

// Fills M and D (both shaped like A). Row b's mask comes from stream keys[b] of `draw` (the
// example's own), so the masks are the same whichever thread fills which rows.
template <class T>
void dropout_forward(Matrix<const T> A, double p, std::uint64_t draw, Matrix<T> M, Matrix<T> D,
                     std::span<const std::size_t> keys);
// dD becomes dA, in place.
template <class T>
void dropout_backward(Matrix<const T> M, Matrix<T> dD);

}  // namespace digitnet
