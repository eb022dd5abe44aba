// digitnet predict model.npz img.png [more...] [--json] [--show]
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/data/image.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/train/metrics.hpp"
#include "dist/world.hpp"
#include "precision.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct PredictArgs {
  std::string model;
  std::vector<std::string> images;
  bool json = false, show = false;
  Precision precision = Precision::float32;
};

// Under mpirun: each process classifies its share of the images, up to the first it cannot
// read (as one process stops there), and rank 0 gets every result in order, as JSON objects
// {x01, probs} or {error}.
std::vector<nlohmann::json> predict_shared(dist::World& world, Model& m, const std::vector<std::string>& images,
                                           bool show, Predictor& predictor) {
  const std::size_t R = world.size(), me = world.rank(), n = images.size();
  nlohmann::json mine = nlohmann::json::array();
  const auto [begin, end] = even_share(n, me, R);
  for (std::size_t i = begin; i < end; ++i) {
    try {
      const std::vector<float> x01 = preprocess_for_input(load_image(images[i]), m.height, m.width, images[i]);
      mine.push_back({{"x01", show ? x01 : std::vector<float>{}}, {"probs", predictor.one(x01)}});
    } catch (const Error& e) {
      mine.push_back({{"error", e.what()}});
      break;
    }
  }
  const std::string text = mine.dump();
  std::vector<nlohmann::json> all;
  for (const auto& bytes : world.gather({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}))
    for (auto& r : nlohmann::json::parse(bytes.begin(), bytes.end())) all.push_back(std::move(r));
  return all;
}

void run_predict(const PredictArgs& a) {
  dist::World& world = dist::World::get();
  std::optional<Model> model;
  world.agree([&] { model.emplace(load_model(a.model)); });
  Model& m = *model;
  Predictor predictor(m, a.precision);
  std::vector<nlohmann::json> shared;
  if (world.size() > 1) shared = predict_shared(world, m, a.images, a.show, predictor);
  for (std::size_t i = 0; i < a.images.size(); ++i) {
    const std::string& path = a.images[i];
    std::vector<float> x01, probs;
    if (world.size() == 1) {
      x01 = preprocess_for_input(load_image(path), m.height, m.width, path);
      probs = predictor.one(x01);
    } else {
      if (shared.at(i).contains("error")) throw Error(shared[i]["error"].get<std::string>());
      shared[i]["x01"].get_to(x01);
      shared[i]["probs"].get_to(probs);
    }
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
  add_quantize_option(cmd, a->precision);
  cmd->add_flag("--show", a->show, "Draw the 28x28 (or 8x8) input the network sees");
  cmd->callback([a] { run_predict(*a); });
}

}  // namespace digitnet::cli
