// digitnet: train, evaluate and use fully-connected networks on handwritten digits.
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include <fmt/format.h>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "dist/world.hpp"
#include "recipe_flags.hpp"

// Every error is caught below and printed as one line (by World::finish: under mpirun, by
// rank 0 or by the one process that failed); only printing that line could throw.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
  digitnet::dist::World* world = nullptr;
  try {
    world = &digitnet::dist::World::start(argc, argv);
    // Under mpirun, only the commands that share their work run on several processes.
    const std::string command = argc > 1 ? argv[1] : "";
    if (world->size() > 1 && command != "train" && command != "eval" && command != "predict" && command != "sweep")
      throw digitnet::Error(
          fmt::format("'{}' runs as one process: start it without mpirun (train, eval, predict "
                      "and sweep share their work between processes)",
                      command));
  } catch (const digitnet::Error& e) {
    if (world && !world->leader()) return world->finish(1, "");
    std::fflush(stdout);
    fmt::print(stderr, "digitnet: error: {}\n", e.what());
    return world ? world->finish(1, "") : 1;
  }
  CLI::App app{"digitnet: neural networks for handwritten digits, from scratch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "digitnet 0.1.0");
  digitnet::cli::add_train_command(app);
  digitnet::cli::add_eval_command(app);
  digitnet::cli::add_predict_command(app);
  digitnet::cli::add_presets_command(app);
  digitnet::cli::add_data_command(app);
  digitnet::cli::add_report_command(app);
  digitnet::cli::add_serve_command(app);
  digitnet::cli::add_export_command(app);
  digitnet::cli::add_sweep_command(app);
  digitnet::cli::refuse_empty_values(app);
  int status = 0;
  std::string error;
  try {
    if (const auto typo = digitnet::cli::misspelled(app, argc, argv)) {
      status = 2;
      error = fmt::format("digitnet: error: {}", *typo);
      return world->finish(status, error);
    }
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    status = world->leader() ? app.exit(e) : 0;
  } catch (const CLI::CallForAllHelp& e) {
    status = world->leader() ? app.exit(e) : 0;
  } catch (const CLI::CallForVersion& e) {
    status = world->leader() ? app.exit(e) : 0;
  } catch (const CLI::ParseError& e) {
    status = 2;
    error = fmt::format("digitnet: error: {} (see digitnet --help)", e.what());
  } catch (const digitnet::cli::ExitStatus& e) {
    status = e.code;
  } catch (const digitnet::SettingError& e) {
    status = 1;
    error = fmt::format("digitnet: error: {}", digitnet::cli::flag_message(e));
  } catch (const digitnet::Error& e) {
    status = 1;
    error = fmt::format("digitnet: error: {}", e.what());
  } catch (const std::bad_alloc&) {
    status = 1;
    error = "digitnet: error: out of memory";
  } catch (const std::exception& e) {
    status = 3;
    error = fmt::format("digitnet: internal error: {}", e.what());
  }
  return world->finish(status, error);
}
