// digitnet predict model.npz img.png [more...] [--json] [--show]
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  bool json = false, show = false;
};

void run_predict(const PredictArgs& a) {
  Model m = load_model(a.model);
  for (const auto& path : a.images) {
    const std::vector<float> x01 = preprocess_for_input(load_image(path), m.height, m.width, path);
    const std::vector<float> probs = predict_one(m, x01);
    const int label = argmax(probs);
    if (a.json) {
      fmt::print("{}\n", nlohmann::json{{"file", path}, {"label", label}, {"probabilities", probs}}.dump());
      continue;
    }
    std::string ps;
    for (std::size_t c = 0; c < probs.size(); ++c) ps += fmt::format("{}{}:{:.3f}", c ? " " : "", c, probs[c]);
    fmt::print("{}: {}  ({})\n", path, label, ps);
    if (a.show) fmt::print("{}", draw_digit(x01, m.height, m.width, {"what the network sees"}));
  }
}

}  // namespace

void add_predict_command(CLI::App& app) {
  auto a = std::make_shared<PredictArgs>();
  CLI::App* cmd = app.add_subcommand("predict", "Classify PNG/JPEG/PGM images");
  cmd->add_option("model", a->model, "Model file (.npz)")->required();
  cmd->add_option("images", a->images, "Image files")->required();
  cmd->add_flag("--json", a->json, "One JSON object per image: file, label, probabilities");
  add_threads_option(cmd);
  cmd->add_flag("--show", a->show, "Draw the 28x28 (or 8x8) input the network sees");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace digitnet::cli
