// libFuzzer target: the gzip + IDX path (header first, then inflation bounded by it) must only
// ever return data or throw Error, within bounded memory (bombs are in the corpus).
#include "digitnet/core/error.hpp"
#include "digitnet/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (int dims : {0, 1, 3}) {
    try {
      digitnet::parse_idx_maybe_gzipped({data, size}, "fuzz", dims);
    } catch (const digitnet::Error&) {
    }
  }
  return 0;
}
