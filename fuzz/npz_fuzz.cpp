// libFuzzer target: .npz and .npy parsing, and reading the arrays back out.
#include "digitnet/core/error.hpp"
#include "digitnet/data/npz.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto use = [](const digitnet::NpyArray& a) {
    if (a.is_numeric()) a.to_doubles();
    else a.to_string();
  };
  try {
    for (const auto& [name, array] : digitnet::parse_npz({data, size}, "fuzz")) use(array);
  } catch (const digitnet::Error&) {
  }
  try {
    use(digitnet::parse_npy({data, size}, "fuzz"));
  } catch (const digitnet::Error&) {
  }
  return 0;
}
