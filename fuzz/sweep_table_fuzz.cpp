// libFuzzer target: the sweep's results table read back must return records or throw Error,
// and records written again read back the same.
#include <string>
#include <string_view>

#include "digitnet/core/error.hpp"
#include "sweep_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using digitnet::cli::csv_line;
  using digitnet::cli::parse_csv;
  try {
    const auto rows = parse_csv(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    std::string again;
    for (const auto& row : rows) again += csv_line(row);
    if (parse_csv(again, "again") != rows) __builtin_trap();
  } catch (const digitnet::Error&) {
  }
  return 0;
}
