// libFuzzer target: image decoding (stb_image's formats and plain-text PGM) and both
// preprocessing recipes. image_size must say the size that decoding finds.
#include <cstdlib>

#include "digitnet/core/error.hpp"
#include "digitnet/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto declared = digitnet::image_size({data, size});
  try {
    const auto img = digitnet::decode_image({data, size}, "fuzz");
    if (!declared || declared->width != img.width || declared->height != img.height) std::abort();
    digitnet::preprocess_mnist(img, "fuzz");
    digitnet::preprocess_plain(img, 8, 8, "fuzz");
  } catch (const digitnet::Error&) {
  }
  return 0;
}
