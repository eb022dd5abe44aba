// What every command's flags share: seeds, and no empty values.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/train/recipe.hpp"
#include "recipe_flags.hpp"

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
    // No name, so --help shows nothing of it.
    opt->check(CLI::Validator(
        [](std::string& value) { return value.empty() ? std::string("the value is empty") : std::string(); }, "", ""));
  }
  for (CLI::App* sub : app.get_subcommands({})) refuse_empty_values(*sub);
}

CLI::Validator whole_in(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        double v = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size() || v != std::floor(v) ||
            !(v >= lo && v <= hi))
          return fmt::format("'{}' is not a whole number from {} to {}", text, lo, hi);
        return std::string();
      },
      "", "");
}

void add_threads_option(CLI::App* cmd) {
  auto flags = std::make_shared<RecipeFlags>(*cmd, std::vector<std::string_view>{"threads"});
  cmd->parse_complete_callback([flags] { set_threads(threads_to_use(flags->apply({}).threads)); });
}

namespace {
std::vector<std::string> names_of(const std::vector<CLI::App*>& apps) {
  std::vector<std::string> names;
  for (const CLI::App* a : apps) names.push_back(a->get_name());
  return names;
}
}  // namespace

std::optional<std::string> misspelled(CLI::App& app, int argc, const char* const* argv) {
  if (argc < 2) return std::nullopt;
  const std::string first = argv[1];
  if (first.starts_with("-")) return std::nullopt;  // --help, --version: CLI11's
  const std::vector<std::string> commands = names_of(app.get_subcommands({}));
  CLI::App* cmd = nullptr;
  for (CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == first) cmd = sub;
  if (!cmd) {
    const auto near = closest_name(first, commands);
    return fmt::format("'{}' is not a command{}; the commands are {}", first,
                       near ? fmt::format(" (did you mean {}?)", *near) : "", fmt::join(commands, ", "));
  }
  // A command with commands of its own (`data fetch`): one of them must follow.
  if (const std::vector<std::string> subs = names_of(cmd->get_subcommands({})); !subs.empty()) {
    const std::string second = argc > 2 ? argv[2] : "";
    if (second.empty())
      return fmt::format("{} needs a command: {} (see digitnet {} --help)", first, fmt::join(subs, ", "), first);
    if (!second.starts_with("-") && std::find(subs.begin(), subs.end(), second) == subs.end()) {
      const auto near = closest_name(second, subs);
      return fmt::format("'{}' is not a command of {}{}; its commands are {}", second, first,
                         near ? fmt::format(" (did you mean {} {}?)", first, *near) : "", fmt::join(subs, ", "));
    }
  }
  // Flags of the command (and of its own commands, for `data fetch` and the like).
  std::vector<std::string> flags{"--help"};
  const auto collect = [&](const CLI::App* a) {
    for (const CLI::Option* o : a->get_options())
      for (const std::string& n : o->get_lnames()) flags.push_back("--" + n);
  };
  collect(cmd);
  for (const CLI::App* sub : cmd->get_subcommands({})) collect(sub);
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (!arg.starts_with("--")) continue;
    const std::string name = arg.substr(0, arg.find('='));
    if (std::find(flags.begin(), flags.end(), name) != flags.end()) continue;
    const auto near = closest_name(name, flags);
    return fmt::format("{} is not a flag of {}{} (see digitnet {} --help)", name, cmd->get_name(),
                       near ? fmt::format("; did you mean {}?", *near) : "", cmd->get_name());
  }
  return std::nullopt;
}

}  // namespace digitnet::cli
