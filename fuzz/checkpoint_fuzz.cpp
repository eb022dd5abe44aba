// libFuzzer target: reading a checkpoint (an .npz whose JSON and arrays describe a run) must
// only ever return a checked Checkpoint or throw Error.
#include "digitnet/core/error.hpp"
#include "digitnet/data/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    digitnet::parse_checkpoint({data, size}, "fuzz");
  } catch (const digitnet::Error&) {
  }
  return 0;
}
