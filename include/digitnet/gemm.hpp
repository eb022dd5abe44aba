#pragma once
// The three matrix products a dense layer needs, named for what they compute.
// Row-major throughout; C is overwritten (beta = 0) or accumulated into (beta = 1).
//   forward     Z  = X  W^T   matmul_abt  (B x in)  (out x in)^T -> (B x out)
//   backward    dW = dZ^T X   matmul_atb  (B x out)^T (B x in)   -> (out x in)
//   backward    dX = dZ W     matmul_ab   (B x out) (out x in)   -> (B x in)
// Every output element is summed over k in increasing order, so results do not
// depend on how rows are split between threads.
#include "digitnet/matrix.hpp"

namespace digitnet {

template <class T> void matmul_abt(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);
template <class T> void matmul_atb(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);
template <class T> void matmul_ab(Matrix<const T> A, Matrix<const T> B, Matrix<T> C, bool accumulate = false);

}  // namespace digitnet
