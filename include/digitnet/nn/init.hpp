#pragma once
// Weight initialisation schemes; biases start at zero (docs/math.md, "Initialisation").
//   he         N(0, 2/fan_in)              seed 000
//   xavier     N(0, 2/(fan_in + fan_out))  Glorot
//   lecun      N(0, 1/fan_in)              seed 004 (which calls it Xavier)
//   normal:S   N(0, S^2)                   seed 001 uses normal:0.1
//   uniform:A  U(-A, A)                    seed 003 uses uniform:0.5
#include <string>
#include <string_view>

#include "digitnet/core/rng.hpp"
#include "digitnet/nn/dense.hpp"

namespace digitnet {

struct Init {
  enum Kind { he, xavier, lecun, normal, uniform } kind = he;
  double param = 0;  // S for normal, A for uniform
};

Init parse_init(std::string_view spec);  // throws Error naming the value
std::string to_string(const Init& init);

template <class T>
void init_dense(const Dense<T>& layer, const Init& init, Rng& rng);

}  // namespace digitnet
