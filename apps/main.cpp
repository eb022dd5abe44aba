// digitnet: train, evaluate and use fully-connected networks on handwritten digits.
#include <cstdio>
#include <exception>
#include <new>

#include <fmt/format.h>

#include "commands.hpp"
#include "digitnet/core/error.hpp"

// Every error is caught below and printed as one line; only printing that line could throw.
int main(int argc, char** argv) {  // NOLINT(bugprone-exception-escape)
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
  digitnet::cli::refuse_empty_values(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fflush(stdout);
    fmt::print(stderr, "digitnet: error: {} (see digitnet --help)\n", e.what());
    return 2;
  } catch (const digitnet::cli::ExitStatus& e) {
    return e.code;
  } catch (const digitnet::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "digitnet: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "digitnet: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "digitnet: internal error: {}\n", e.what());
    return 3;
  }
  return 0;
}
