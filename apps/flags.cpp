// What every command's flags share: seeds, and no empty values.
#include <charconv>

#include <fmt/format.h>

#include "commands.hpp"
#include "digitnet/core/error.hpp"

namespace digitnet::cli {

std::uint64_t parse_seed(const std::string& flag, const std::string& text) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size())
    throw Error(fmt::format("{}: '{}' is not a whole number from 0 to 18446744073709551615", flag, text));
  return v;
}

void refuse_empty_values(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_type_size() == 0) continue;  // a flag: it takes no value
    opt->check(CLI::Validator(
        [](std::string& value) { return value.empty() ? std::string("the value is empty") : std::string(); },
        "NOT EMPTY", "not empty"));
  }
  for (CLI::App* sub : app.get_subcommands({})) refuse_empty_values(*sub);
}

}  // namespace digitnet::cli
