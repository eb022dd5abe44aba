#pragma once
// Each CLI command registers its flags on the app and runs in its callback.
// Errors are thrown as digitnet::Error and printed by main as one line.
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "digitnet/core/parallel.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"

namespace digitnet::cli {

// The data a model is evaluated on (data_arg empty: the data it was trained on): its recorded
// split and seed when the data is the one it was trained on, else the data's own test files or
// all of it. Checks the input size; warns when the test part holds examples it trained on.
struct ModelData {
  DataSplit data;
  std::uint64_t seed;  // the seed the split (and anything else drawn from it) used
};
ModelData load_data_for_model(const Model& m, const std::string& data_arg, const std::string& split_arg = "",
                              const std::uint64_t* seed_arg = nullptr);

// Thrown by a command to end digitnet with this exit status (it has printed why already).
struct ExitStatus {
  int code;
};

// A seed: 0 to 2^64-1 in decimal, and nothing else (no sign, no overflow, not empty).
std::uint64_t parse_seed(const std::string& flag, const std::string& text);
// Makes every option of app and its commands refuse an empty value, naming the option.
void refuse_empty_values(CLI::App& app);
// A dataset's warnings (what its reader found ambiguous) on stderr, a line each.
void print_warnings(const Dataset& d);
// A mistyped command or flag: the error, with the closest one (nullopt when argv is fine as
// far as names go; CLI11 then parses it).
std::optional<std::string> misspelled(CLI::App& app, int argc, const char* const* argv);

// A whole number from lo to hi, checked with a line naming the flag (and nothing added to --help:
// the help text says the range itself).
CLI::Validator whole_in(double lo, double hi);

// --threads N on a command, as the recipe's setting of that name (recipe_flags.hpp).
void add_threads_option(CLI::App* cmd);

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_presets_command(CLI::App& app);
void add_data_command(CLI::App& app);
void add_report_command(CLI::App& app);
void add_serve_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_sweep_command(CLI::App& app);

}  // namespace digitnet::cli
