// libFuzzer target: the server's reader of {"pixels": [...]} request bodies, for a 2x2 model
// (so that whole, valid bodies are within the fuzzer's reach) and a 28x28 one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pixels_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const int side : {2, 28}) {
    const auto p = digitnet::cli::read_pixels_json(body, side * side, side, side);
    if (!p.error.empty()) continue;
    if (p.pixels.size() != static_cast<std::size_t>(side * side)) std::abort();
    for (const float v : p.pixels)
      if (!(v >= 0 && v <= 1)) std::abort();
  }
  return 0;
}
