// libFuzzer target: CSV parsing must only ever return a dataset or throw Error.
#include <string_view>

#include "digitnet/core/error.hpp"
#include "digitnet/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    digitnet::parse_csv(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const digitnet::Error&) {
  }
  return 0;
}
