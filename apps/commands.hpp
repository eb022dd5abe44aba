#pragma once
// Each CLI command registers its flags on the app and runs in its callback.
// Errors are thrown as digitnet::Error and printed by main as one line.
#include <CLI/CLI.hpp>

namespace digitnet::cli {

void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_predict_command(CLI::App& app);
void add_presets_command(CLI::App& app);

}  // namespace digitnet::cli
