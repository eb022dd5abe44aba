// digitnet sweep GRID.json [--out RESULTS.csv] [--threads N]
// Trains every combination of a grid of settings and writes one table of results. Under
// mpirun the points are spread over the processes, each taking the next as it finishes one;
// rank 0 keeps the table, rewritten whole (atomically) after every point, so a stopped sweep
// run again goes on with the points it has not done.
//
// GRID.json: {"data": NAME|PATH, "preset": NAME (optional), "settings": {fixed values} (optional),
//             "grid": {"lr": [0.01, 0.1], "batch": [32, 128], ...}}
// The keys are the recipe's settings (train/recipe.hpp; weight_decay or weight-decay); the
// points are every combination, the last key changing fastest.
#include <algorithm>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "digitnet/core/error.hpp"
#include "digitnet/core/json.hpp"
#include "digitnet/data/file.hpp"
#include "digitnet/data/load.hpp"
#include "digitnet/fetch/catalog.hpp"
#include "digitnet/nn/network.hpp"
#include "digitnet/train/presets.hpp"
#include "digitnet/train/trainer.hpp"
#include "dist/world.hpp"
#include "recipe_flags.hpp"
#include "sweep_table.hpp"
#include "terminal.hpp"

namespace digitnet::cli {
namespace {

constexpr std::size_t kMaxPoints = 100'000;
constexpr std::size_t kMaxTableBytes = 64 << 20;

struct QuietRun {
  double test_accuracy = 0;
  std::optional<double> val_accuracy;
  double loss = 0;     // the last epoch's mean training loss
  int epochs = 0;      // run (fewer than asked when early stopping ended it)
  double seconds = 0;  // training, without loading and scoring
};

// Trains the recipe on its data, printing nothing; `tick` runs after every batch. Throws Error
// as train does (a missing file, a diverged run).
QuietRun train_quietly(Recipe recipe, bool layers_given, const std::function<void()>& tick) {
  validate(recipe);
  const RunData d = load_run_data(recipe, resolve_data(recipe.data, cli_fetch_options()), layers_given);
  const Normalizer norm = Normalizer::fit(normalization(recipe), d.split.train);
  Network<float> net = new_network(recipe);
  Trainer trainer(net, norm, recipe);
  const auto reports = trainer.fit(d.split.train, &d.split.test, {}, {}, recipe.val > 0 ? &d.val : nullptr, [&](bool) {
    if (tick) tick();
    return false;
  });
  QuietRun r;
  for (const EpochReport& e : reports) r.seconds += e.seconds;
  if (!reports.empty()) {
    r.test_accuracy = reports.back().test_accuracy.value_or(0.0);
    r.val_accuracy = reports.back().val_accuracy;
    r.loss = reports.back().loss;
    r.epochs = reports.back().epoch;
  }
  return r;
}

struct SweepArgs {
  std::string grid, out;
  std::unique_ptr<RecipeFlags> flags;  // --threads
};

struct Point {
  std::vector<std::string> cells;  // the grid's values of this point, as the table shows them
  Recipe recipe;
  bool layers_given = false;
};

struct Grid {
  std::vector<std::string> keys;  // the settings the grid varies, in the file's order
  std::vector<Point> points;
};

// A value as the table shows it: as the command line would write it.
std::string cell(const Recipe& r, const Setting& s) { return setting_text(r, s); }

// Sets a setting from the grid file, naming where in the file a bad value is.
void put(Recipe& r, const std::string& key, const nlohmann::ordered_json& v, const std::string& where) {
  try {
    const Setting& s = find_setting(key);
    if (v.is_string() && s.kind != SettingKind::text && s.kind != SettingKind::choice && s.kind != SettingKind::spec)
      set_setting(r, s, std::string_view(v.get_ref<const std::string&>()));  // "784,128,10", "full"
    else set_setting(r, s, nlohmann::json::parse(v.dump()));
  } catch (const SettingError& e) {
    throw Error(fmt::format("{}: {}", where, e.what()));
  }
}

Grid parse_grid(const Bytes& bytes, const std::string& path) {
  const nlohmann::ordered_json g =
      parse_ordered_json({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path, {.max_bytes = 1 << 20});
  if (!g.is_object()) throw Error(fmt::format("{}: must be a JSON object with \"data\" and \"grid\"", path));
  for (const auto& [key, value] : g.items())
    if (key != "data" && key != "preset" && key != "settings" && key != "grid")
      throw Error(fmt::format("{}: unknown key '{}' (known: data, preset, settings, grid)", path, key));
  if (g.contains("preset") && !g["preset"].is_string()) throw Error(fmt::format("{}: \"preset\" must be a name", path));
  if (g.contains("settings") && !g["settings"].is_object())
    throw Error(fmt::format("{}: \"settings\" must be an object of train's settings", path));
  if (!g.contains("grid") || !g["grid"].is_object() || g["grid"].empty())
    throw Error(fmt::format("{}: \"grid\" must be an object of settings, each a list of values", path));
  const std::string preset = g.value("preset", std::string());
  Recipe base = preset.empty() ? Recipe{} : find_preset(preset).recipe;
  bool layers_fixed = false;
  if (g.contains("data")) put(base, "data", g["data"], path);
  if (g.contains("settings"))
    for (const auto& [key, value] : g["settings"].items()) {
      put(base, key, value, path);
      layers_fixed = layers_fixed || find_setting(key).name == "layers";
    }
  if (base.data.empty())
    throw Error(fmt::format("{}: \"data\" must name a dataset or a path, as train's --data", path));
  Grid grid;
  std::vector<const nlohmann::ordered_json*> lists;
  std::size_t count = 1;
  for (const auto& [key, values] : g["grid"].items()) {
    if (!values.is_array() || values.empty())
      throw Error(fmt::format("{}: grid's \"{}\" must be a list of one or more values", path, key));
    count *= values.size();
    if (count > kMaxPoints) throw Error(fmt::format("{}: the grid has more than {} points", path, kMaxPoints));
    const Setting* setting = lookup_setting(key);
    if (!setting) {
      std::vector<std::string> names;
      for (const Setting& x : recipe_settings()) names.emplace_back(x.name);
      const auto near = closest_name(key, names);
      throw Error(fmt::format("{}: '{}' is not a setting of a recipe{} (see digitnet train --help)", path, key,
                              near ? fmt::format("; did you mean {}?", *near) : ""));
    }
    const std::string name(setting->name);
    if (std::find(grid.keys.begin(), grid.keys.end(), name) != grid.keys.end())
      throw Error(fmt::format("{}: grid's \"{}\" is given twice", path, name));
    grid.keys.push_back(name);
    lists.push_back(&values);
  }
  for (std::size_t i = 0; i < count; ++i) {
    Point p{{}, base, layers_fixed || std::count(grid.keys.begin(), grid.keys.end(), "layers") > 0};
    std::string described;
    for (std::size_t k = 0, rest = i; k < lists.size(); ++k) {
      std::size_t stride = 1;
      for (std::size_t later = k + 1; later < lists.size(); ++later) stride *= lists[later]->size();
      const auto& v = (*lists[k])[rest / stride];
      rest %= stride;
      described += fmt::format("{}{}={}", k ? ", " : "", grid.keys[k], v.is_string() ? v.get<std::string>() : v.dump());
      put(p.recipe, grid.keys[k], v, fmt::format("{}: point {} ({})", path, i, described));
      p.cells.push_back(cell(p.recipe, find_setting(grid.keys[k])));
    }
    try {
      validate(p.recipe);
    } catch (const SettingError& e) {
      throw Error(fmt::format("{}: point {} ({}): {}", path, i, described, e.what()));
    }
    grid.points.push_back(std::move(p));
  }
  return grid;
}

// The table: a CSV file, a row per point done, in the grid's order.
std::vector<std::string> header(const Grid& g) {
  std::vector<std::string> h{"point"};
  h.insert(h.end(), g.keys.begin(), g.keys.end());
  for (const char* c : {"test_accuracy", "val_accuracy", "loss", "epochs", "seconds", "rank", "note"}) h.push_back(c);
  return h;
}

struct Result {
  std::size_t point = 0;
  std::vector<std::string> row;  // the table's fields
};

Result result_row(const Grid& g, std::size_t i, const std::optional<QuietRun>& r, int rank, const std::string& note) {
  Result out{i, {std::to_string(i)}};
  out.row.insert(out.row.end(), g.points[i].cells.begin(), g.points[i].cells.end());
  const auto opt = [](const std::optional<double>& v) { return v ? fmt::format("{:.4f}", *v) : std::string(); };
  out.row.push_back(r ? fmt::format("{:.4f}", r->test_accuracy) : "");
  out.row.push_back(r ? opt(r->val_accuracy) : "");
  out.row.push_back(r ? fmt::format("{:.4f}", r->loss) : "");
  out.row.push_back(r ? std::to_string(r->epochs) : "");
  out.row.push_back(r ? fmt::format("{:.2f}", r->seconds) : "");
  out.row.push_back(std::to_string(rank));
  out.row.push_back(note);
  return out;
}

// Rank 0's table: the rows done, kept in the file after each.
class Table {
 public:
  Table(const Grid& g, std::string path) : grid_(g), path_(std::move(path)), header_(header(g)) {}

  // The rows a stopped sweep left in the file; checks they are this grid's.
  void load() {
    std::error_code ec;
    if (!std::filesystem::exists(path_, ec)) return;
    const Bytes bytes = read_file(path_);
    if (bytes.size() > kMaxTableBytes)
      throw Error(fmt::format("--out: {} is larger than a table digitnet writes", path_));
    const auto rows = parse_csv(std::string(bytes.begin(), bytes.end()), path_);
    if (rows.empty()) return;
    if (rows[0] != header_)
      throw Error(fmt::format(
          "--out: {} holds another sweep's table (its columns differ); give another --out or remove it", path_));
    for (std::size_t r = 1; r < rows.size(); ++r) {
      const auto& row = rows[r];
      std::size_t i = 0;
      const bool number = !row.empty() && !row[0].empty() && row[0].size() < 10 &&
                          row[0].find_first_not_of("0123456789") == std::string::npos;
      if (number) i = std::stoul(row[0]);
      if (row.size() != header_.size() || !number || i >= grid_.points.size())
        throw Error(fmt::format("--out: {}: line {} is not a row of this sweep's table", path_, r + 1));
      const auto& cells = grid_.points[i].cells;
      if (!std::equal(cells.begin(), cells.end(), row.begin() + 1))
        throw Error(
            fmt::format("--out: {}: point {} was trained with other settings than the grid's now; give another "
                        "--out or remove it",
                        path_, i));
      done_[i] = row;
    }
  }

  bool done(std::size_t i) const { return done_.count(i) > 0; }
  std::size_t size() const { return done_.size(); }

  void record(const Result& r) {
    done_[r.point] = r.row;
    std::string text = csv_line(header_);
    for (const auto& [i, row] : done_) text += csv_line(row);
    write_file_atomic(path_, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
  }

  // The table on the terminal, the best test accuracy marked.
  void print() const {
    std::vector<std::size_t> width(header_.size());
    for (std::size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size();
    for (const auto& [i, row] : done_)
      for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    const std::size_t acc = 1 + grid_.keys.size();
    const auto accuracy = [&](const std::vector<std::string>& row) {  // -1: none (the run failed)
      char* end = nullptr;
      const double v = std::strtod(row[acc].c_str(), &end);
      return !row[acc].empty() && *end == '\0' ? v : -1.0;
    };
    std::size_t best = done_.begin()->first;
    for (const auto& [i, row] : done_)
      if (accuracy(row) > accuracy(done_.at(best))) best = i;
    const auto line = [&](const std::vector<std::string>& row, bool mark) {
      std::string s = mark ? "* " : "  ";
      for (std::size_t c = 0; c + 1 < row.size(); ++c) s += fmt::format("{:<{}}  ", row[c], width[c]);
      return s + row.back() + "\n";
    };
    fmt::print("{}", line(header_, false));
    for (const auto& [i, row] : done_) fmt::print("{}", line(row, i == best));
    std::string described;
    for (std::size_t k = 0; k < grid_.keys.size(); ++k)
      described += fmt::format("{}{}={}", k ? ", " : "", grid_.keys[k], grid_.points[best].cells[k]);
    if (const double a = accuracy(done_.at(best)); a >= 0)
      fmt::print("best: point {} ({}): test accuracy {:.2f}%\n", best, described, 100 * a);
    fmt::print("results in {}\n", path_);
  }

 private:
  const Grid& grid_;
  std::string path_;
  std::vector<std::string> header_;
  std::map<std::size_t, std::vector<std::string>> done_;
};

nlohmann::json to_json(const Result& r) { return {{"point", r.point}, {"row", r.row}}; }
Result from_json(const Bytes& bytes) {
  const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
  return {j.at("point").get<std::size_t>(), j.at("row").get<std::vector<std::string>>()};
}
Bytes to_bytes(const nlohmann::json& j) {
  const std::string s = j.dump();
  return {s.begin(), s.end()};
}

// One point, on this process. A run that fails (it diverged, say) is a result too: its note says why.
Result run_point(const Grid& g, std::size_t i, int rank, const std::function<void()>& tick) {
  try {
    const QuietRun r = train_quietly(g.points[i].recipe, g.points[i].layers_given, tick);
    return result_row(g, i, r, rank, "");
  } catch (const Error& e) {
    return result_row(g, i, std::nullopt, rank, e.what());
  }
}

void run_sweep(const SweepArgs& a) {
  dist::World& world = dist::World::get();
  const std::string out = !a.out.empty() ? a.out : std::filesystem::path(a.grid).replace_extension(".csv").string();
  // Rank 0 reads the grid and the table; every process gets the grid, and checks it can read the data.
  Bytes text;
  world.agree([&] {
    if (world.leader()) text = read_file(a.grid);
  });
  world.broadcast(text);
  Grid grid;
  std::unique_ptr<Table> table;
  world.agree([&] {
    grid = parse_grid(text, a.grid);
    if (world.leader()) {
      check_writable(out, "--out");
      table = std::make_unique<Table>(grid, out);
      table->load();
    }
    for (const Point& p : grid.points) resolve_data(p.recipe.data, cli_fetch_options());
  });
  if (world.leader())
    fmt::print("sweep of {}: {} points, {} done before; {} process{}, {} threads each\n", a.grid, grid.points.size(),
               table->size(), world.size(), world.size() == 1 ? "" : "es", threads());

  if (!world.leader()) {  // a worker: ask for a point, run it, send the result with the next request
    std::optional<Result> last;
    while (true) {
      world.send(0, to_bytes({{"result", last ? to_json(*last) : nlohmann::json()}}));
      const auto [from, reply] = world.receive();
      const long i = nlohmann::json::parse(reply.begin(), reply.end()).at("point").get<long>();
      if (i < 0) return;
      last = run_point(grid, static_cast<std::size_t>(i), world.rank(), {});
    }
  }
  std::deque<std::size_t> pending;
  for (std::size_t i = 0; i < grid.points.size(); ++i)
    if (!table->done(i)) pending.push_back(i);
  int working = world.size() - 1;
  const auto note = [&](const Result& r) {
    table->record(r);
    fmt::print("point {} done ({} of {})\n", r.point, table->size(), grid.points.size());
    std::fflush(stdout);
  };
  // A worker's request: its last result, and the next point for it (or none: it is done).
  const auto answer = [&](int from, const Bytes& bytes) {
    const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
    if (!j.at("result").is_null()) note(from_json(to_bytes(j["result"])));
    long next = -1;
    if (!pending.empty()) {
      next = static_cast<long>(pending.front());
      pending.pop_front();
    } else {
      --working;
    }
    world.send(from, to_bytes({{"point", next}}));
  };
  const auto serve = [&] {
    while (auto m = world.poll()) answer(m->first, m->second);
  };
  while (!pending.empty()) {
    const std::size_t i = pending.front();
    pending.pop_front();
    note(run_point(grid, i, 0, serve));
    serve();
  }
  while (working > 0) {
    const auto [from, bytes] = world.receive();
    answer(from, bytes);
  }
  table->print();
}

}  // namespace

void add_sweep_command(CLI::App& app) {
  auto a = std::make_shared<SweepArgs>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "Train every combination of a grid of settings (GRID.json); one table of results, resumable");
  cmd->add_option("grid", a->grid, "GRID.json: {\"data\": ..., \"grid\": {\"lr\": [0.01, 0.1], ...}}")->required();
  cmd->add_option("--out", a->out, "The results table (CSV; default: GRID.csv next to GRID.json)");
  a->flags = std::make_unique<RecipeFlags>(*cmd, std::vector<std::string_view>{"threads"});
  cmd->callback([a] {
    set_threads(threads_to_use(a->flags->apply({}).threads));
    run_sweep(*a);
  });
}

}  // namespace digitnet::cli
