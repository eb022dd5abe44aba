#pragma once
// One exception type for everything a user can get wrong (files, flags, data).
// The CLI prints what() as a single line and exits non-zero.
#include <stdexcept>
#include <string>

namespace digitnet {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace digitnet
