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

// One image: what the network sees (0..1, for --show), its probabilities, and how it was prepared.
nlohmann::json classify(Predictor& predictor, Model& m, const std::string& path, bool show) {
  const ModelInput in = prepare_input(load_image(path), m.input, path);
  std::vector<float> x01;
  if (show)
    for (int f = 0; f < in.example.features(); ++f)
      x01.push_back((in.example.has_floats() ? in.example.floats(0)[f] : float(in.example.image(0)[f])) /
                    in.example.pixel_max);
  return {{"x01", x01}, {"probs", predictor.input(in)}, {"input", in.how}};
}

// Under mpirun: each process classifies its share of the images, up to the first it cannot
// read (as one process stops there), and rank 0 gets every result in order, as JSON objects
// {x01, probs, input} or {error}.
std::vector<nlohmann::json> predict_shared(dist::World& world, Model& m, const std::vector<std::string>& images,
                                           bool show, Predictor& predictor) {
  const std::size_t R = world.size(), me = world.rank(), n = images.size();
  nlohmann::json mine = nlohmann::json::array();
  const auto [begin, end] = even_share(n, me, R);
  for (std::size_t i = begin; i < end; ++i) {
    try {
      mine.push_back(classify(predictor, m, images[i], show));
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
    const nlohmann::json r = world.size() == 1 ? classify(predictor, m, path, a.show) : shared.at(i);
    if (r.contains("error")) throw Error(r["error"].get<std::string>());
    const auto x01 = r["x01"].get<std::vector<float>>(), probs = r["probs"].get<std::vector<float>>();
    const int label = argmax(probs);
    if (a.json) {
      fmt::print("{}\n", nlohmann::json{{"file", path},
                                        {"label", label},
                                        {"confidence", probs[label]},
                                        {"probabilities", probs},
                                        {"input", r["input"]}}
                             .dump());
      continue;
    }
    std::string ps;
    for (std::size_t c = 0; c < probs.size(); ++c) ps += fmt::format("{}{}:{:.3f}", c ? " " : "", c, probs[c]);
    const std::string how = r["input"].get<std::string>();
    fmt::print("{}: {} ({:.1f}% sure)  ({}){}\n", path, label, 100.0 * probs[label], ps,
               how == "as is" ? "" : "  [" + how + "]");
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
