// libFuzzer target: gzip + IDX parsing must only ever return data or throw Error.
#include "digitnet/core/error.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto bytes = digitnet::gunzip_if_gzipped({data, size}, "fuzz", std::size_t(64) << 20);
    digitnet::parse_idx(bytes, "fuzz");
  } catch (const digitnet::Error&) {
  }
  return 0;
}
