// digitnet export-onnx model.npz -o model.onnx
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/data/onnx.hpp"

namespace digitnet::cli {
namespace {

struct ExportArgs {
  std::string model, out;
};

// The class names a model records (the Python module's string labels), else 0..classes-1.
nlohmann::json class_names(const Model& m) {
  const auto it = m.config.find("classes");
  if (it != m.config.end() && it->is_array() && static_cast<int>(it->size()) == m.net.arch().classes()) return *it;
  nlohmann::json names = nlohmann::json::array();
  for (int c = 0; c < m.net.arch().classes(); ++c) names.push_back(c);
  return names;
}

void run_export(const ExportArgs& a) {
  const Model m = load_model(a.model);
  OnnxInfo info;
  info.doc = fmt::format(
      "digitnet {} {}/{} network; input: the values of a {}x{} image as the model's data holds them "
      "(pixel_max {}), output: class probabilities and the label index",
      layers_to_string(m.net.arch().sizes), to_string(m.net.arch().hidden), to_string(m.net.arch().loss), m.height,
      m.width, m.norm.pixel_max);
  info.metadata = {{"classes", class_names(m).dump()},
                   {"input_shape", nlohmann::json{m.height, m.width}.dump()},
                   {"normalization", m.norm.kind_name()},
                   {"pixel_max", fmt::format("{}", m.norm.pixel_max)}};
  save_onnx(a.out, m.net, m.norm, info);
  fmt::print("wrote {} (ONNX opset {}, {} layers)\n", a.out, kOnnxOpset, m.net.arch().depth());
}

}  // namespace

void add_export_command(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* cmd = app.add_subcommand("export-onnx", "Write a model as an ONNX graph (opset 13) for inference runtimes");
  cmd->add_option("model", a->model, "Model file (.npz)")->required();
  cmd->add_option("-o,--output", a->out, "ONNX file to write")->required();
  cmd->callback([a] { run_export(*a); });
}

}  // namespace digitnet::cli
