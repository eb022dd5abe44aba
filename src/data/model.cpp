#include "digitnet/data/model.hpp"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/npz.hpp"
#include "digitnet/train/metrics.hpp"

namespace digitnet {

nlohmann::json record_json(const TrainingRecord& r) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& e : r.history) history.push_back(report_json(e));
  return {{"recipe", recipe_json(r.recipe)},
          {"dataset", r.dataset},
          {"centring", to_string(r.centring)},
          {"split", r.split},
          {"preset", r.preset.empty() ? nlohmann::json() : nlohmann::json(r.preset)},
          {"train_examples", r.train_examples},
          {"test_examples", r.test_examples},
          {"history", history},
          {"test_accuracy", r.test_accuracy ? nlohmann::json(*r.test_accuracy) : nlohmann::json()}};
}

std::optional<Recipe> recorded_recipe(const nlohmann::json& config, const std::string& path) {
  if (!config.is_object() || !config.contains("recipe")) return std::nullopt;
  try {
    return recipe_from_json(config["recipe"]);
  } catch (const SettingError& e) {
    throw Error(fmt::format("{}: config recipe {}", path, e.what()));
  }
}

void save_model(const std::string& path, const Network<float>& net, const Normalizer& norm, int height, int width,
                const nlohmann::json& extra) {
  const Architecture& arch = net.arch();
  nlohmann::json config = extra;
  config["format"] = "digitnet-model";
  config["format_version"] = kModelFormatVersion;
  config["layers"] = arch.sizes;
  config["hidden_activation"] = to_string(arch.hidden);
  config["loss"] = to_string(arch.loss);
  config["output_activation"] = arch.loss == Loss::cross_entropy ? "softmax" : "sigmoid";
  config["normalization"] = norm.kind_name();
  config["pixel_max"] = norm.pixel_max;
  config["input_shape"] = {height, width};
  config["batch_norm"] = arch.batch_norm;

  NpzArchive npz;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const auto& layer = net.layers[l];
    const auto out = static_cast<std::size_t>(layer.out());
    npz[fmt::format("w{}", l + 1)] = NpyArray::from_floats(layer.W(), {out, static_cast<std::size_t>(layer.in())});
    npz[fmt::format("b{}", l + 1)] = NpyArray::from_floats(layer.b.values(), {out});
    if (layer.normalized()) {
      npz[fmt::format("gamma{}", l + 1)] = NpyArray::from_floats(layer.gamma.values(), {out});
      npz[fmt::format("beta{}", l + 1)] = NpyArray::from_floats(layer.beta.values(), {out});
      npz[fmt::format("mean{}", l + 1)] = NpyArray::from_floats(layer.running_mean.values(), {out});
      npz[fmt::format("var{}", l + 1)] = NpyArray::from_floats(layer.running_var.values(), {out});
    }
  }
  if (norm.kind == Normalizer::zscore) {
    npz["input_mean"] = NpyArray::from_floats(norm.mean, {norm.mean.size()});
    npz["input_std"] = NpyArray::from_floats(norm.std, {norm.std.size()});
  }
  npz["config"] = NpyArray::from_string(config.dump());
  write_npz(path, npz);
}

namespace {

// A model's config is a few kilobytes of JSON (more with a long training history); far more is
// not a config.
constexpr std::size_t kMaxConfigBytes = std::size_t(16) << 20;

std::vector<float> take(const NpzArchive& npz, const std::string& key, std::vector<std::size_t> shape,
                        const std::string& path) {
  const auto it = npz.find(key);
  if (it == npz.end()) throw Error(fmt::format("{}: missing array '{}'", path, key));
  if (!it->second.is_numeric()) throw Error(fmt::format("{}: array '{}' is not numeric", path, key));
  if (it->second.shape != shape)
    throw Error(fmt::format("{}: array '{}' has shape ({}) but the config's layers need ({})", path, key,
                            fmt::join(it->second.shape, ", "), fmt::join(shape, ", ")));
  std::vector<float> values;
  try {
    values = it->second.to_floats();
  } catch (const Error& e) {
    throw Error(fmt::format("{}: array '{}': {}", path, key, e.what()));
  }
  for (float v : values)
    if (!std::isfinite(v)) throw Error(fmt::format("{}: array '{}' contains nan or inf", path, key));
  return values;
}

// A plain np.savez of w1, b1, w2, b2, ... (each w shaped (fan_out, fan_in), as digitnet writes
// them) without our config: the config such a file implies. A ReLU network with softmax outputs
// and cross-entropy, on pixels 0..255 scaled to [0, 1] (z-scored when input_mean and input_std
// are there), its input square when the count is a square (28x28, 8x8), else one row.
nlohmann::json config_from_shapes(const std::map<std::string, std::vector<std::size_t>>& shapes,
                                  const std::string& path) {
  const auto shape_of = [&](const std::string& name) -> const std::vector<std::size_t>* {
    const auto it = shapes.find(name);
    return it == shapes.end() ? nullptr : &it->second;
  };
  const auto text = [](const std::vector<std::size_t>& s) { return fmt::format("({})", fmt::join(s, ", ")); };
  if (!shape_of("w1"))
    throw Error(fmt::format("{}: neither a 'config' entry nor weight arrays w1, b1, ..., so not a model", path));
  std::vector<std::size_t> layers;
  for (int l = 1; const auto* w = shape_of(fmt::format("w{}", l)); ++l) {
    if (w->size() != 2 || (*w)[0] == 0 || (*w)[1] == 0)
      throw Error(fmt::format("{}: array 'w{}' has shape {}; a weight matrix is (fan_out, fan_in)", path, l, text(*w)));
    if (layers.empty()) {
      layers = {(*w)[1], (*w)[0]};
    } else if ((*w)[1] != layers.back()) {
      throw Error(fmt::format("{}: array 'w{}' has shape {} but w{} has {} outputs; each w is (fan_out, fan_in)", path,
                              l, text(*w), l - 1, layers.back()));
    } else {
      layers.push_back((*w)[0]);
    }
    const auto* b = shape_of(fmt::format("b{}", l));
    if (!b) throw Error(fmt::format("{}: has 'w{}' but no 'b{}'", path, l, l));
  }
  const std::size_t inputs = layers.front();
  auto side = static_cast<std::size_t>(std::lround(std::sqrt(static_cast<double>(inputs))));
  const bool square = side * side == inputs;
  const bool zscore = shape_of("input_mean") && shape_of("input_std");
  return {{"format_version", 1},
          {"layers", layers},
          {"hidden_activation", "relu"},
          {"loss", "ce"},
          {"normalization", zscore ? "zscore" : "scale"},
          {"pixel_max", 255.0},
          {"input_shape", {square ? side : 1, square ? side : inputs}},
          {"inferred", true}};
}

}  // namespace

Model load_model(const std::string& path) {
  const Bytes bytes = read_file(path);
  // The config first, alone: it says which arrays the file holds and their shapes, and every
  // other member is checked against that before any of its data is inflated (a member of a
  // small file may honestly inflate to a thousand times its size).
  std::map<std::string, std::vector<std::size_t>> shapes;  // every member's, for a file without a config
  const NpzArchive head = parse_npz(bytes, path, [&](const std::string& name, const NpyHeader& h) {
    shapes[name] = h.shape;
    if (name != "config") return false;
    if (!h.shape.empty() || h.is_numeric() || h.data_bytes > kMaxConfigBytes)
      throw Error(fmt::format("{}: 'config' is not a text of at most {} bytes", path, kMaxConfigBytes));
    return true;
  });
  const auto cfg = head.find("config");
  nlohmann::json config;
  if (cfg == head.end()) {
    config = config_from_shapes(shapes, path);
  } else {
    try {
      config = parse_json(cfg->second.to_string(), "'config'", {.max_bytes = 16 << 20});
    } catch (const Error& e) {
      throw Error(fmt::format("{}: {}", path, e.what()));
    }
  }
  Architecture arch;
  Normalizer norm;
  int height = 0, width = 0;
  try {
    if (!config.is_object()) throw Error("config is not a JSON object");
    // Each field read on its own, so an error names it.
    const auto field = [&]<class T>(const char* key, T fallback, bool required) {
      if (!config.contains(key)) {
        if (required) throw Error(fmt::format("config has no '{}'", key));
        return fallback;
      }
      try {
        return config[key].get<T>();
      } catch (const nlohmann::json::exception&) {
        throw Error(fmt::format("config '{}' is {}, not the value expected", key, config[key].dump()));
      }
    };
    const int version = field("format_version", 0, true);
    if (version > kModelFormatVersion)
      throw Error(fmt::format("written by a newer digitnet (model format {}); this build reads format {} and older",
                              version, kModelFormatVersion));
    if (version < 1) throw Error(fmt::format("unknown model format {}", version));
    if (!config.contains("layers")) throw Error("config has no 'layers'");
    try {  // as a recipe reads them: whole numbers in range, named by their place
      Recipe r;
      set_setting(r, find_setting("layers"), config["layers"]);
      arch.sizes = r.layers;
    } catch (const SettingError& e) {
      throw Error(fmt::format("config {}", e.what()));
    }
    if (arch.sizes.size() < 2) throw Error("config 'layers' needs at least two sizes");
    arch.hidden = parse_activation(field("hidden_activation", std::string(), true));
    arch.loss = parse_loss(field("loss", std::string(), true));
    arch.batch_norm = field("batch_norm", false, false);
    norm.kind = Normalizer::parse_kind(field("normalization", std::string(), true));
    norm.pixel_max = field("pixel_max", 255.0f, false);
    if (!(norm.pixel_max > 0) || !std::isfinite(norm.pixel_max))
      throw Error(fmt::format("config 'pixel_max' is {}; it must be a positive number", norm.pixel_max));
    const auto shape = field("input_shape", std::vector<int>{}, true);
    if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1 || shape[0] * shape[1] != arch.inputs())
      throw Error(fmt::format("config 'input_shape' does not match {} inputs", arch.inputs()));
    height = shape[0];
    width = shape[1];
  } catch (const nlohmann::json::exception& e) {
    throw Error(fmt::format("{}: config is missing or has a wrong field ({})", path, e.what()));
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
  // The arrays the config implies, each with its shape: the rest of the file is read against them.
  std::map<std::string, std::vector<std::size_t>> expected;
  for (int l = 0; l < arch.depth(); ++l) {
    const auto out = static_cast<std::size_t>(arch.sizes[l + 1]), in = static_cast<std::size_t>(arch.sizes[l]);
    expected[fmt::format("w{}", l + 1)] = {out, in};
    expected[fmt::format("b{}", l + 1)] = {out};
    if (arch.batch_norm && l + 1 < arch.depth())
      for (const char* name : {"gamma", "beta", "mean", "var"}) expected[fmt::format("{}{}", name, l + 1)] = {out};
  }
  const auto F = static_cast<std::size_t>(arch.inputs());
  if (norm.kind == Normalizer::zscore) expected["input_mean"] = expected["input_std"] = {F};
  const std::string extra_layer = fmt::format("w{}", arch.depth() + 1);
  const NpzArchive npz = parse_npz(bytes, path, [&](const std::string& name, const NpyHeader& h) {
    if (name == extra_layer)
      throw Error(fmt::format("{}: has more weight arrays than the config's {} layers", path, arch.depth()));
    const auto it = expected.find(name);
    if (it == expected.end()) return false;  // not part of the model (the config is read already)
    if (!h.is_numeric()) throw Error(fmt::format("{}: array '{}' is not numeric", path, name));
    if (h.shape != it->second)
      throw Error(fmt::format("{}: array '{}' has shape ({}) but the config's layers need ({})", path, name,
                              fmt::join(h.shape, ", "), fmt::join(it->second, ", ")));
    return true;
  });
  // Only now, with every array read and checked, is the network allocated.
  Network<float> net(arch);
  for (int l = 0; l < arch.depth(); ++l) {
    const auto out = static_cast<std::size_t>(arch.sizes[l + 1]), in = static_cast<std::size_t>(arch.sizes[l]);
    net.layers[l].set_W(take(npz, fmt::format("w{}", l + 1), {out, in}, path));
    net.layers[l].set_b(take(npz, fmt::format("b{}", l + 1), {out}, path));
    if (net.layers[l].normalized()) {
      const Dense<float>& layer = net.layers[l];
      for (const auto& [name, view] : {std::pair{"gamma", layer.gamma}, std::pair{"beta", layer.beta},
                                       std::pair{"mean", layer.running_mean}, std::pair{"var", layer.running_var}}) {
        const auto v = take(npz, fmt::format("{}{}", name, l + 1), {out}, path);
        std::copy(v.begin(), v.end(), view.values().begin());
      }
      for (float v : layer.running_var.values())
        if (!(v >= 0)) throw Error(fmt::format("{}: var{} holds a negative variance", path, l + 1));
    }
  }
  if (norm.kind == Normalizer::zscore) {
    norm.mean = take(npz, "input_mean", {F}, path);
    norm.std = take(npz, "input_std", {F}, path);
    for (float s : norm.std)
      if (!(s > 0)) throw Error(fmt::format("{}: input_std must be positive", path));
  }
  InputFormat input{height, width, norm.pixel_max, centring_of(config.value("dataset", ""), height, width)};
  if (config.contains("centring")) {
    try {
      input.centring = parse_centring(config["centring"].is_string() ? config["centring"].get<std::string>() : "?");
    } catch (const Error& e) {
      throw Error(fmt::format("{}: config {}", path, e.what()));
    }
  }
  return Model{std::move(net), std::move(norm), height, width, std::move(config), input};
}

std::vector<float> predict_input(Model& model, const ModelInput& input) {
  const Predictions p = predict_dataset(model.net, model.norm, input.example);
  return {p.probs.storage.begin(), p.probs.storage.end()};
}

std::vector<float> predict_one(Model& model, std::span<const float> x01) {
  const int F = model.net.arch().inputs();
  if (static_cast<int>(x01.size()) != F)
    throw Error(fmt::format("the image has {} values but the model takes {}", x01.size(), F));
  ModelInput in;
  in.example.height = model.height;
  in.example.width = model.width;
  in.example.pixel_max = model.norm.pixel_max;
  in.example.labels = {0};
  in.example.values.resize(x01.size());
  for (std::size_t i = 0; i < x01.size(); ++i) in.example.values[i] = x01[i] * model.norm.pixel_max;
  return predict_input(model, in);
}

}  // namespace digitnet
