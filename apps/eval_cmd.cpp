// digitnet eval model.npz [--data PATH] [--split S] [--json [--predictions]] [--samples N] [--misclassified N]
#include <algorithm>
#include <memory>
#include <numeric>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/parallel.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/data/model.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/train/metrics.hpp"
#include "dist/world.hpp"
#include "precision.hpp"
#include "report.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

struct EvalArgs {
  std::string model, data, split;
  int samples = 3, misclassified = -1;
  std::uint64_t seed = 0;
  bool json = false, predictions = false;
  Precision precision = Precision::float32;
  CLI::Option *o_split, *o_seed;
};

// "3: 61.0%  5: 30.2%  8: 4.1%"
std::string top3(std::span<const float> p) {
  std::vector<int> idx(p.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + std::min<std::size_t>(3, idx.size()), idx.end(),
                    [&](int x, int y) { return p[x] > p[y]; });
  std::string s;
  for (std::size_t k = 0; k < std::min<std::size_t>(3, idx.size()); ++k)
    s += fmt::format("{}{}: {:.1f}%", k ? "  " : "", idx[k], 100.0 * p[idx[k]]);
  return s;
}

}  // namespace

namespace {

// A row's bytes and label, to find the same example in another part.
std::string row_key(const Dataset& d, std::size_t i) {
  std::string key(reinterpret_cast<const char*>(d.image(i)), static_cast<std::size_t>(d.features()));
  key.push_back(static_cast<char>(d.labels[i]));
  return key;
}

// How many examples of `test` the model trained on: its recorded recipe's training part of the
// same data (the split and validation share it drew), found row by row.
std::size_t trained_on(const Recipe& r, const std::string& path, const Dataset& test) {
  DataSplit split = load_data(path, data_split(r), r.seed);
  if (r.val > 0) hold_out(split.train, r.val, r.seed);  // its validation share was not trained on
  std::multiset<std::string> trained;
  for (std::size_t i = 0; i < split.train.size(); ++i) trained.insert(row_key(split.train, i));
  std::size_t n = 0;
  for (std::size_t i = 0; i < test.size(); ++i) n += trained.count(row_key(test, i)) > 0;
  return n;
}

}  // namespace

void print_warnings(const Dataset& d) {
  for (const std::string& w : d.warnings) {
    std::fflush(stdout);
    fmt::print(stderr, "digitnet: warning: {}\n", w);
  }
}

ModelData load_data_for_model(const Model& m, const std::string& data_arg, const std::string& split_arg,
                              const std::uint64_t* seed_arg) {
  // Its own data, by default: as its recipe names it (models from before recipes kept the name).
  const std::optional<Recipe> recipe = recorded_recipe(m.config, "the model file");
  std::string spec = data_arg;
  if (spec.empty()) spec = recipe ? recipe->data : m.config.value("dataset", std::string());
  if (spec.empty() || spec == "numpy")
    throw SettingError("data", "required: the model file does not record the data it was trained on");
  const std::string path = resolve_data(spec, cli_fetch_options());
  const bool same_data = m.config.value("dataset", std::string()) == dataset_name(path);
  // On its own data, the model is tested on the part it was tested on (its split, its seed);
  // on other data, on all of it (or the data's own test files).
  const auto recorded = [&](const char* key, const nlohmann::json& otherwise) {
    if (key == std::string("seed") && recipe) return nlohmann::json(recipe->seed);
    if (m.config.contains(key)) return m.config[key];
    const auto& t = m.config.contains("training") ? m.config["training"] : nlohmann::json::object();
    return t.contains(key) ? t[key] : otherwise;
  };
  const nlohmann::json split_j = recorded("split", "auto"), seed_j = recorded("seed", 1);
  if (!split_j.is_string() || !seed_j.is_number_integer() || seed_j.get<double>() < 0)
    throw Error("the model file's recorded split or seed is not what a model file holds");
  std::string split = split_arg;
  if (split.empty()) split = same_data ? split_j.get<std::string>() : "auto";
  const std::uint64_t seed = seed_arg ? *seed_arg : seed_j.get<std::uint64_t>();
  SplitSpec spec_split = parse_split(split);
  if (!same_data && spec_split.kind == SplitSpec::automatic) {
    // the data's own test files if it has them, else every example: none was trained on
    spec_split = load_data(path, {SplitSpec::automatic}, seed).split == "official" ? SplitSpec{SplitSpec::official}
                                                                                   : SplitSpec{SplitSpec::all};
  }
  DataSplit data = load_data(path, spec_split, seed);
  if (data.test.features() != m.net.arch().inputs())
    throw SettingError("data", fmt::format("{} has {} values per example but the model expects {}", spec,
                                           data.test.features(), m.net.arch().inputs()));
  print_warnings(data.test);
  // A test part the model was trained on scores its memory, not its skill: say how much of it.
  if (same_data && recipe && (data.split != split_j.get<std::string>() || seed != recipe->seed)) {
    const std::size_t n = trained_on(*recipe, path, data.test);
    if (n > 0) {
      std::fflush(stdout);
      fmt::print(stderr,
                 "digitnet: warning: {} of the {} test examples (split {}, seed {}) are examples the model was "
                 "trained on (split {}, seed {}): their accuracy is no test\n",
                 n, data.test.size(), data.split, seed, split_j.get<std::string>(), recipe->seed);
    }
  }
  return {std::move(data), seed};
}

namespace {

// The predictions for data; under mpirun each process computes its share of the rows (row for
// row what one process computes) and every process gets them all, in order.
Predictions predict_shared(Model& m, const Dataset& data, Precision precision) {
  dist::World& world = dist::World::get();
  Predictor predictor(m, precision);
  if (world.size() == 1) return predictor.dataset(data);
  const std::size_t R = world.size(), me = world.rank(), n = data.size();
  const auto [begin, end] = even_share(n, me, R);
  std::vector<std::size_t> rows(end - begin);
  std::iota(rows.begin(), rows.end(), begin);
  Predictions part;
  if (!rows.empty()) part = predictor.dataset(data.subset(rows));
  Predictions all;
  all.label = dist::gather_values<int>(world, part.label);
  const std::vector<float> probs = dist::gather_values<float>(world, part.probs.storage);
  all.probs.resize(static_cast<int>(n), m.net.arch().classes());
  std::copy(probs.begin(), probs.end(), all.probs.storage.begin());
  return all;
}

void run_eval(const EvalArgs& a) {
  // Every process reads the model and the data; an error on any is reported by its name.
  std::optional<Model> model;
  ModelData md;
  dist::World::get().agree([&] {
    model.emplace(load_model(a.model));
    md = load_data_for_model(*model, a.data, a.o_split->count() ? a.split : "", a.o_seed->count() ? &a.seed : nullptr);
  });
  Model& m = *model;
  const DataSplit& data = md.data;
  const std::uint64_t seed = md.seed;
  const Dataset& test = data.test;
  const Predictions pred = predict_shared(m, test, a.precision);
  const Metrics metrics = compute_metrics(test.labels, pred.label, m.net.arch().classes());

  if (a.json) {
    nlohmann::json out = evaluation_json(metrics, test.size(), data.split);
    if (a.predictions) {  // each test example's, in the order of the test part
      const auto K = static_cast<std::size_t>(m.net.arch().classes());
      nlohmann::json rows = nlohmann::json::array();
      for (std::size_t i = 0; i < test.size(); ++i) {
        const float* p = pred.probs.view().row(static_cast<int>(i));
        rows.push_back({{"label", pred.label[i]}, {"probabilities", std::vector<float>(p, p + K)}});
      }
      out["predictions"] = std::move(rows);
    }
    fmt::print("{}\n", out.dump());
    return;
  }
  const int K = m.net.arch().classes();
  std::size_t correct = 0;
  for (int c = 0; c < K; ++c) correct += metrics.confusion[c][c];
  fmt::print("{} on {} ({} test examples, split {}): accuracy {:.2f}% ({}/{})\n\n", a.model, test.name, test.size(),
             data.split, 100.0 * metrics.accuracy, correct, test.size());
  fmt::print("confusion matrix (rows: true class, columns: predicted)\n      ");
  for (int c = 0; c < K; ++c) fmt::print("{:>6}", c);
  fmt::print("\n");
  for (int t = 0; t < K; ++t) {
    fmt::print("  {:>2}  ", t);
    for (int c = 0; c < K; ++c) fmt::print("{:>6}", metrics.confusion[t][c]);
    fmt::print("\n");
  }
  fmt::print("\nclass  precision  recall  support\n");
  for (int c = 0; c < K; ++c)
    fmt::print("  {:>2}   {:>7.2f}%  {:>5.2f}%  {:>7}\n", c, 100 * metrics.precision[c], 100 * metrics.recall[c],
               metrics.support[c]);

  // Samples: a seeded pick of examples, or only the mistakes with --misclassified.
  const bool mistakes = a.misclassified >= 0;
  const int want = mistakes ? a.misclassified : a.samples;
  std::vector<std::size_t> order(test.size());
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed, kSplitStream + 100);
  rng.shuffle(std::span<std::size_t>(order));
  std::vector<std::size_t> shown;
  for (std::size_t i : order) {
    if (static_cast<int>(shown.size()) >= want) break;
    if (!mistakes || pred.label[i] != test.labels[i]) shown.push_back(i);
  }
  if (want > 0) fmt::print("\n{} {}\n", shown.size(), mistakes ? "misclassified examples" : "sample predictions");
  std::vector<float> px(test.features());
  for (std::size_t i : shown) {
    for (int f = 0; f < test.features(); ++f) px[f] = test.image(i)[f] / test.pixel_max;
    const std::span<const float> probs(pred.probs.view().row(static_cast<int>(i)), static_cast<std::size_t>(K));
    fmt::print("\n{}", draw_digit(px, test.height, test.width,
                                  {fmt::format("example {}", i),
                                   fmt::format("true {}  predicted {}{}", test.labels[i], pred.label[i],
                                               pred.label[i] == test.labels[i] ? "" : "  (wrong)"),
                                   top3(probs)}));
  }
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* cmd = app.add_subcommand("eval", "Accuracy, confusion matrix, per-class precision/recall, samples");
  cmd->add_option("model", a->model, "Model file (.npz)")->required();
  cmd->add_option("--data", a->data, "Dataset name or path (default: the one the model was trained on)");
  a->o_split = cmd->add_option("--split", a->split,
                               "Test part: official, random:F, dev:N or all (default: the model's on its own "
                               "data; on other data its test files, or all of it)");
  a->o_seed = cmd->add_option_function<std::string>(
      "--seed", [a](const std::string& v) { a->seed = parse_seed("--seed", v); },
      "Seed of a random split (default: the model's)");
  cmd->add_option("--samples", a->samples, "Sample predictions to draw")->type_name("N")->check(whole_in(0, 1e9));
  cmd->add_option("--misclassified", a->misclassified, "Draw N mistakes instead of samples")
      ->type_name("N")
      ->check(whole_in(0, 1e9));
  cmd->add_flag("--json", a->json, "One JSON object: accuracy, confusion, per_class");
  cmd->add_flag("--predictions", a->predictions, "With --json: each test example's label and probabilities");
  add_threads_option(cmd);
  add_quantize_option(cmd, a->precision);
  cmd->callback([a] { run_eval(*a); });
}

}  // namespace digitnet::cli
