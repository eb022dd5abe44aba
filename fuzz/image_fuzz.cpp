// libFuzzer target: image decoding and both preprocessing recipes.
#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto img = digitnet::decode_image({data, size}, "fuzz");
    digitnet::preprocess_mnist(img, "fuzz");
    digitnet::preprocess_plain(img, 8, 8, "fuzz");
  } catch (const digitnet::Error&) {
  }
  return 0;
}
