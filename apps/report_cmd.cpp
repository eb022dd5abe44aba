// digitnet report model.npz --data PATH -o report.html [--png DIR]
#include <memory>

#include <fmt/format.h>

#include "commands.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "report.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct ReportArgs {
  std::string model, data, out, png;
};

void run_report(const ReportArgs& a) {
  check_writable(a.out, "-o");  // before the model and data are read
  Model m = load_model(a.model);
  const DataSplit data = load_data_for_model(m, a.data).data;
  write_report(m, a.model, data, a.out, a.png);
  const std::string dir = a.png.ends_with('/') ? a.png : a.png + "/";  // "figures/" given as is
  fmt::print("wrote {}{}\n", a.out, a.png.empty() ? "" : fmt::format(" and the figures as PNG in {}", dir));
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  CLI::App* cmd = app.add_subcommand("report", "One self-contained HTML page: curves, confusion, mistakes, weights");
  cmd->add_option("model", a->model, "Model file (.npz)")->required();
  cmd->add_option("--data", a->data, "Dataset name or path (default: the one the model was trained on)");
  cmd->add_option("-o,--out", a->out, "HTML file to write")->required();
  cmd->add_option("--png", a->png, "Also write each figure as a PNG in this directory");
  add_threads_option(cmd);
  cmd->callback([a] { run_report(*a); });
}

}  // namespace digitnet::cli
