#include "digitnet/train/recipe.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace digitnet {
namespace {

using G = SettingGroup;
using K = SettingKind;

constexpr double kMaxCount = 1'000'000;  // epochs, layer sizes, batch rows: far beyond any real run
constexpr std::size_t kMaxLayers = 64;

}  // namespace

std::string_view to_string(SettingGroup group) {
  switch (group) {
    case G::model: return "model";
    case G::optimizer: return "optimizer";
    case G::regularization: return "regularization";
    case G::data: return "data";
    case G::run: return "run";
  }
  return "?";
}

std::string SettingRange::to_string() const {
  return fmt::format("{}{}, {}{}", lo_open ? "(" : "[", lo, hi, hi_open ? ")" : "]");
}

const std::vector<Setting>& recipe_settings() {
  // The one table. Ranges are inclusive unless open; whole numbers and list items are checked
  // against them too.
  // clang-format off
  static const std::vector<Setting> table = {
    {"layers", G::model, K::sizes, &Recipe::layers, {1, kMaxCount}, {},
     "Layer sizes from input to output, e.g. 784,128,64,10 (the input size follows the data unless given)"},
    {"activation", G::model, K::choice, &Recipe::activation, {}, {"relu", "sigmoid", "tanh"},
     "Activation of the hidden layers"},
    {"loss", G::model, K::choice, &Recipe::loss, {}, {"ce", "mse"},
     "ce: softmax + cross-entropy; mse: sigmoid outputs + squared error"},
    {"init", G::model, K::spec, &Recipe::init, {}, {"he", "xavier", "lecun", "normal:SIGMA", "uniform:A"},
     "Initial weights (biases start at 0)"},
    {"batch_norm", G::model, K::choice, &Recipe::batch_norm, {}, {"off", "on"},
     "Batch normalization of each hidden layer's product, before its activation (as PyTorch's BatchNorm1d)"},

    {"optimizer", G::optimizer, K::choice, &Recipe::optimizer, {}, {"sgd", "momentum", "nesterov", "adam", "adamw"},
     "Update rule (PyTorch's semantics)"},
    {"lr", G::optimizer, K::number, &Recipe::lr, {0, 1000, true}, {},
     "Learning rate for the batch-mean gradient (the schedule's peak)"},
    {"momentum", G::optimizer, K::number, &Recipe::momentum, {0, 1, false, true}, {},
     "Momentum factor (momentum, nesterov)"},
    {"beta1", G::optimizer, K::number, &Recipe::beta1, {0, 1, false, true}, {}, "Adam's beta1"},
    {"beta2", G::optimizer, K::number, &Recipe::beta2, {0, 1, false, true}, {}, "Adam's beta2"},
    {"eps", G::optimizer, K::number, &Recipe::eps, {0, 1, true}, {}, "Adam's epsilon"},
    {"weight_decay", G::optimizer, K::number, &Recipe::weight_decay, {0, 1}, {},
     "Weight decay: coupled for sgd, momentum and adam, decoupled for adamw"},
    {"schedule", G::optimizer, K::spec, &Recipe::schedule, {}, {"constant", "step:EPOCHS:GAMMA", "cosine", "onecycle"},
     "Learning-rate schedule over the run's epochs"},
    {"warmup", G::optimizer, K::number, &Recipe::warmup, {0, kMaxCount}, {},
     "Epochs of linear learning-rate warmup (at most the run's epochs)"},

    {"dropout", G::regularization, K::numbers, &Recipe::dropout, {0, 1, false, true}, {},
     "Dropout probability of the hidden layers, or one per hidden layer: 0.3,0.2"},
    {"label_smoothing", G::regularization, K::number, &Recipe::label_smoothing, {0, 1, false, true}, {},
     "Cross-entropy label smoothing, as PyTorch's (ce loss only)"},
    {"l2", G::regularization, K::number, &Recipe::l2, {0, 1}, {},
     "L2 penalty: adds l2/2 times the sum of squared weights to the loss"},
    {"clip_norm", G::regularization, K::number, &Recipe::clip_norm, {0, 1e6}, {},
     "Clip the gradient's global L2 norm to this (0: off)"},
    {"augment", G::regularization, K::spec, &Recipe::augment, {},
     {"none", "shift:PIXELS", "rotate:DEGREES", "scale:FRACTION", "elastic", "flip"},
     "Random distortions of the training images, comma-separated"},
    {"ema", G::regularization, K::number, &Recipe::ema, {0, 1, false, true}, {},
     "Decay of an exponential moving average of the weights, which is evaluated and saved (0: off; 0.999, say)"},

    {"data", G::data, K::text, &Recipe::data, {}, {},
     "Dataset: mnist, fashion-mnist, digits, mnist-10k, or a path (IDX folder, CSV, image folders)",
     false, false},  // processes may read the same data from different places: its digest is compared
    {"normalize", G::data, K::choice, &Recipe::normalize, {}, {"scale", "zscore"},
     "Inputs: scale (pixels to [0, 1]) or zscore (per feature, fitted on the training part)"},
    {"split", G::data, K::spec, &Recipe::split, {}, {"auto", "official", "random:FRACTION", "dev:COUNT", "all"},
     "Test part: the dataset's own test files (official), a seeded share, a dev count, or all (eval only)", true,
     false},
    {"val", G::data, K::number, &Recipe::val, {0, 1, false, true}, {},
     "Share of the training part held out for validation", true, false},

    {"batch", G::run, K::batch, &Recipe::batch, {1, kMaxCount}, {}, "Examples per step, or full (the whole training set)"},
    {"epochs", G::run, K::whole, &Recipe::epochs, {1, kMaxCount}, {}, "Passes over the training set"},
    {"seed", G::run, K::seed, &Recipe::seed, {}, {},
     "Seed of the initial weights, shuffling, splits, dropout and augmentation"},
    {"report_every", G::run, K::whole, &Recipe::report_every, {1, kMaxCount}, {},
     "Epochs between reports (a line, the test accuracy)", true, false},
    {"early_stop", G::run, K::whole, &Recipe::early_stop, {0, kMaxCount}, {},
     "Stop after this many epochs without a better validation accuracy (needs val; 0: off)", true, false},
    {"threads", G::run, K::whole, &Recipe::threads, {0, 1024}, {},
     "Cores to use (0: as many as pay for this network); results are identical for any count", false},
    {"reduce", G::run, K::choice, &Recipe::reduce, {}, {"ordered", "exact"},
     "Under mpirun: ordered (same bits for the same process count) or exact (for any count)", true, false},
    {"micro_batch", G::run, K::whole, &Recipe::micro_batch, {1, 256}, {},
     "With reduce exact: rows per micro-batch", true, false},
  };
  // clang-format on
  return table;
}

std::optional<std::string> closest_name(std::string_view word, const std::vector<std::string>& names) {
  // Edit distance, a swap of two neighbouring letters counting as one edit (fecth: fetch);
  // close enough: at most a third of the word's letters (and 1 at least).
  const auto distance = [](std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
      for (std::size_t j = 1; j <= b.size(); ++j) {
        d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    return d[a.size()][b.size()];
  };
  std::optional<std::string> best;
  std::size_t best_d = std::max<std::size_t>(1, word.size() / 3) + 1;
  for (const auto& n : names) {
    const std::size_t d = distance(word, n);
    if (d < best_d || (!best && std::min(word.size(), n.size()) >= 3 && (n.starts_with(word) || word.starts_with(n)))) {
      best_d = d;
      best = n;
    }
  }
  return best;
}

namespace {

std::string underscored(std::string_view name) {
  std::string s(name);
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

std::vector<std::string> setting_names() {
  std::vector<std::string> names;
  for (const Setting& s : recipe_settings()) names.emplace_back(s.name);
  return names;
}

// The parsers of whole numbers and numbers, as the CLI writes them.
std::optional<std::uint64_t> decimal(std::string_view text) {
  if (text.empty() || text.size() > 20 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<double> real(std::string_view text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> items_of(std::string_view text) {
  std::vector<std::string_view> items;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t comma = std::min(text.find(',', pos), text.size());
    items.push_back(text.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return items;
}

std::string range_words(const SettingRange& r) { return fmt::format("from {} to {}", r.lo, r.hi); }

// A whole number checked against the setting's range; `index` names a list's item.
int whole_in_range(const Setting& s, double v, int index = -1) {
  if (!(v >= s.range.lo && v <= s.range.hi))
    throw SettingError(std::string(s.name), fmt::format("{} is not a whole number {}", v, range_words(s.range)), index);
  return static_cast<int>(v);
}

double number_in_range(const Setting& s, double v, int index = -1) {
  if (!std::isfinite(v)) throw SettingError(std::string(s.name), fmt::format("{} is not a finite number", v), index);
  if (!s.range.contains(v))
    throw SettingError(std::string(s.name), fmt::format("{} is not in {}", v, s.range.to_string()), index);
  return v;
}

void check_choice(const Setting& s, std::string_view v) {
  if (std::find(s.choices.begin(), s.choices.end(), v) != s.choices.end()) return;
  std::vector<std::string> words(s.choices.begin(), s.choices.end());
  const auto near = closest_name(v, words);
  throw SettingError(std::string(s.name), fmt::format("'{}' is not one of {}{}", v, fmt::join(s.choices, ", "),
                                                      near ? fmt::format(" (did you mean {}?)", *near) : ""));
}

// A spec's parser, which throws SettingError naming the setting.
void check_spec(const Setting& s, std::string_view v) {
  if (s.name == "init") parse_init(v);
  else if (s.name == "schedule") parse_schedule(v);
  else if (s.name == "augment") parse_augment(v);
  else if (s.name == "split") parse_split(v);
}

// A JSON value as a whole number: an integer, or a number with no fraction.
double json_whole(const Setting& s, const nlohmann::json& v, int index = -1) {
  if (v.is_number_integer())
    return v.is_number_unsigned() ? double(v.get<std::uint64_t>()) : double(v.get<std::int64_t>());
  if (v.is_number_float() && std::isfinite(v.get<double>()) && v.get<double>() == std::floor(v.get<double>()))
    return v.get<double>();
  throw SettingError(std::string(s.name), fmt::format("{} is not a whole number", v.dump()), index);
}

double json_number(const Setting& s, const nlohmann::json& v, int index = -1) {
  if (!v.is_number()) throw SettingError(std::string(s.name), fmt::format("{} is not a number", v.dump()), index);
  return v.get<double>();
}

std::string json_text(const Setting& s, const nlohmann::json& v) {
  if (!v.is_string()) throw SettingError(std::string(s.name), fmt::format("{} is not text", v.dump()));
  return v.get<std::string>();
}

}  // namespace

const Setting* lookup_setting(std::string_view name) {
  const std::string n = underscored(name);
  for (const Setting& s : recipe_settings())
    if (s.name == n) return &s;
  return nullptr;
}

const Setting& find_setting(std::string_view name) {
  if (const Setting* s = lookup_setting(name)) return *s;
  const auto near = closest_name(underscored(name), setting_names());
  throw SettingError(std::string(name),
                     fmt::format("not a setting{}", near ? fmt::format(" (did you mean {}?)", *near) : ""));
}

nlohmann::json get_setting(const Recipe& r, const Setting& s) {
  if (s.kind == K::batch) return r.batch == 0 ? nlohmann::json("full") : nlohmann::json(r.batch);
  return std::visit([&](auto field) { return nlohmann::json(r.*field); }, s.field);
}

std::string setting_text(const Recipe& r, const Setting& s) {
  const nlohmann::json v = get_setting(r, s);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::vector<std::string> items;
    for (const auto& x : v) items.push_back(x.is_number_float() ? fmt::format("{}", x.get<double>()) : x.dump());
    return fmt::format("{}", fmt::join(items, ","));
  }
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();
}

void set_setting(Recipe& r, const Setting& s, std::string_view text) {
  const std::string name(s.name);
  switch (s.kind) {
    case K::whole:
    case K::batch: {
      if (s.kind == K::batch && text == "full") {
        r.batch = 0;
        return;
      }
      const auto v = decimal(text);
      if (!v)
        throw SettingError(name, fmt::format("'{}' is not a whole number{} (decimal digits only)", text,
                                             s.kind == K::batch ? " or full" : ""));
      r.*std::get<int Recipe::*>(s.field) = whole_in_range(s, double(*v));
      return;
    }
    case K::seed: {
      const auto v = decimal(text);
      if (!v) throw SettingError(name, fmt::format("'{}' is not a whole number from 0 to 18446744073709551615", text));
      r.*std::get<std::uint64_t Recipe::*>(s.field) = *v;
      return;
    }
    case K::number: {
      const auto v = real(text);
      if (!v) throw SettingError(name, fmt::format("'{}' is not a number", text));
      r.*std::get<double Recipe::*>(s.field) = number_in_range(s, *v);
      return;
    }
    case K::choice: check_choice(s, text); break;
    case K::spec: check_spec(s, text); break;
    case K::text: break;
    case K::sizes: {
      std::vector<int> sizes;
      for (const std::string_view item : items_of(text)) {
        const auto v = decimal(item);
        const int index = static_cast<int>(sizes.size());
        if (!v) throw SettingError(name, fmt::format("'{}' is not a whole number (decimal digits only)", item), index);
        sizes.push_back(whole_in_range(s, double(*v), index));
      }
      r.*std::get<std::vector<int> Recipe::*>(s.field) = std::move(sizes);
      return;
    }
    case K::numbers: {
      std::vector<double> values;
      for (const std::string_view item : items_of(text)) {
        const auto v = real(item);
        const int index = static_cast<int>(values.size());
        if (!v) throw SettingError(name, fmt::format("'{}' is not a number", item), index);
        values.push_back(number_in_range(s, *v, index));
      }
      r.*std::get<std::vector<double> Recipe::*>(s.field) = std::move(values);
      return;
    }
  }
  r.*std::get<std::string Recipe::*>(s.field) = std::string(text);
}

void set_setting(Recipe& r, const Setting& s, const nlohmann::json& v) {
  switch (s.kind) {
    case K::whole:
    case K::batch:
      if (s.kind == K::batch && v == "full") {
        r.batch = 0;
        return;
      }
      r.*std::get<int Recipe::*>(s.field) = whole_in_range(s, json_whole(s, v));
      return;
    case K::seed: {
      const double d = json_whole(s, v);
      if (d < 0 || !v.is_number_integer())
        throw SettingError(std::string(s.name), fmt::format("{} is not a whole number from 0 to 2^64-1", v.dump()));
      r.*std::get<std::uint64_t Recipe::*>(s.field) = v.get<std::uint64_t>();
      return;
    }
    case K::number: r.*std::get<double Recipe::*>(s.field) = number_in_range(s, json_number(s, v)); return;
    case K::choice:
    case K::spec:
    case K::text: {
      std::string text = json_text(s, v);
      if (s.kind == K::choice) check_choice(s, text);
      if (s.kind == K::spec) check_spec(s, text);
      r.*std::get<std::string Recipe::*>(s.field) = std::move(text);
      return;
    }
    case K::sizes:
    case K::numbers: {
      // One number for a list of numbers (dropout 0.2) is a list of one.
      const nlohmann::json list = v.is_array() ? v : nlohmann::json::array({v});
      if (s.kind == K::sizes && !v.is_array())
        throw SettingError(std::string(s.name), fmt::format("{} is not a list of whole numbers", v.dump()));
      if (list.size() > kMaxLayers)
        throw SettingError(std::string(s.name), fmt::format("{} items; at most {}", list.size(), kMaxLayers));
      if (s.kind == K::sizes) {
        std::vector<int> sizes;
        for (const auto& x : list) {
          const int index = static_cast<int>(sizes.size());
          sizes.push_back(whole_in_range(s, json_whole(s, x, index), index));
        }
        r.*std::get<std::vector<int> Recipe::*>(s.field) = std::move(sizes);
      } else {
        std::vector<double> values;
        for (const auto& x : list) {
          const int index = static_cast<int>(values.size());
          values.push_back(number_in_range(s, json_number(s, x, index), index));
        }
        r.*std::get<std::vector<double> Recipe::*>(s.field) = std::move(values);
      }
      return;
    }
  }
}

std::vector<SettingError> check_recipe(const Recipe& r) {
  std::vector<SettingError> errors;
  const auto attempt = [&](auto&& f) {
    try {
      f();
    } catch (const SettingError& e) {
      errors.push_back(e);
    }
  };
  // Each setting as its row says: setting it again from its own value checks kind and range.
  for (const Setting& s : recipe_settings())
    attempt([&] {
      Recipe copy;
      set_setting(copy, s, get_setting(r, s));
    });
  if (r.layers.size() < 2) errors.emplace_back("layers", "needs at least an input and an output size");
  if (r.layers.size() > kMaxLayers) errors.emplace_back("layers", fmt::format("at most {} sizes", kMaxLayers));
  const std::size_t hidden = r.layers.size() < 2 ? 0 : r.layers.size() - 2;
  if (r.dropout.empty() || (r.dropout.size() != 1 && r.dropout.size() != hidden))
    errors.emplace_back("dropout", fmt::format("{} values for {} hidden layers (give one, or one per hidden layer)",
                                               r.dropout.size(), hidden));
  if (r.label_smoothing > 0 && r.loss != "ce") errors.emplace_back("label_smoothing", "only applies to the ce `loss`");
  if (r.warmup > r.epochs)
    errors.emplace_back("warmup", fmt::format("{} epochs is more than the run's {}", r.warmup, r.epochs));
  if (r.early_stop > 0 && r.val == 0)
    errors.emplace_back("early_stop", "needs a validation share: set `val` (0.1, say)");
  return errors;
}

void validate(const Recipe& r) {
  const auto errors = check_recipe(r);
  if (!errors.empty()) throw errors.front();
}

nlohmann::json recipe_json(const Recipe& r) {
  nlohmann::json j = nlohmann::json::object();
  for (const Setting& s : recipe_settings()) j[std::string(s.name)] = get_setting(r, s);
  return j;
}

Recipe recipe_from_json(const nlohmann::json& j, const Recipe& defaults) {
  if (!j.is_object()) throw SettingError("recipe", "is not a JSON object of settings");
  Recipe r = defaults;
  for (const auto& [key, value] : j.items()) set_setting(r, find_setting(key), value);
  validate(r);
  return r;
}

std::vector<std::string> recipe_differences(const Recipe& a, const Recipe& b, bool shared_only) {
  std::vector<std::string> names;
  for (const Setting& s : recipe_settings())
    if ((s.shared || !shared_only) && get_setting(a, s) != get_setting(b, s)) names.emplace_back(s.name);
  return names;
}

Architecture architecture(const Recipe& r) {
  return {r.layers, parse_activation(r.activation), parse_loss(r.loss), r.batch_norm == "on"};
}

OptimizerConfig optimizer_config(const Recipe& r) {
  return {parse_optimizer(r.optimizer), r.momentum, r.beta1, r.beta2, r.eps, r.weight_decay};
}

Schedule learning_schedule(const Recipe& r) {
  Schedule s = parse_schedule(r.schedule);
  s.warmup_epochs = r.warmup;
  return s;
}

Augment augmentation(const Recipe& r) { return parse_augment(r.augment); }
SplitSpec data_split(const Recipe& r) { return parse_split(r.split); }
Normalizer::Kind normalization(const Recipe& r) { return Normalizer::parse_kind(r.normalize); }
Reduction reduction(const Recipe& r) { return parse_reduction(r.reduce); }

Network<float> new_network(const Recipe& r) {
  validate(r);
  Network<float> net(architecture(r));
  Rng rng(r.seed, kInitStream);
  net.init(parse_init(r.init), rng);
  net.set_dropout(r.dropout);
  net.set_label_smoothing(r.label_smoothing);
  return net;
}

void fit_to_data(Recipe& r, int features, int height, bool layers_given) {
  if (!layers_given && !r.layers.empty()) r.layers.front() = features;
  if (r.layers.empty() || r.layers.front() != features)
    throw SettingError("layers",
                       fmt::format("input size {} does not match the data ({} values per example{})",
                                   r.layers.empty() ? 0 : r.layers.front(), features,
                                   height > 1 ? fmt::format(", {}x{} images", height, features / height) : ""));
  if (r.layers.back() != kClasses)
    throw SettingError("layers",
                       fmt::format("output size {} does not match the data's {} classes", r.layers.back(), kClasses));
  if (augmentation(r).any() && height < 2)
    throw SettingError("augment", "needs image data (the examples have no 2-D shape)");
}

}  // namespace digitnet
